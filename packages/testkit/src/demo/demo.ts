/**
 * `podid-sim demo` (and `npm run demo` in the repository): the whole product on one machine, telling the
 * tutorial's story. It starts the embedded cluster (fake kube-apiserver with the CRDs, fake ARM with a
 * 3-instance scale set, fake IMDS and AAD, a fake Key Vault `demo-kv` holding `appsecret1`), the real MIC and
 * one real NMI per node as child processes, and a simulated kubelet per node that mounts FlexVolumes by running
 * the real `podid-kv` driver. It applies the example manifests as a user would — the pod verbatim, with its
 * `azure/kv` flexVolume in pod-identity mode — and prints a timeline: the pod scheduled, its
 * AzureAssignedIdentity going Created → Assigned, the scale-set PATCH, the kubelet mounting the Key Vault
 * volume (the driver's token comes from NMI's `/host/token`), the pod reading `/secret1/appsecret1`, the app
 * obtaining a token with @azure/identity, then the pod deleted and the identity detached. The last line is
 * one JSON summary. Pods are told apart by distinct loopback source addresses (no network namespaces).
 * MIC, NMI and the driver are the installed `@podid/mic-runner`, `@podid/nmi-server` and
 * `@podid/kv-flexvolume` launchers (see `deployable-bins.ts`); the manifests are this package's copies of the
 * repository's `examples/demo`.
 * @packageDocumentation
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { ComputeTarget } from "@podid/core";
import { FakeKeyVault } from "../azure/key-vault/fake-key-vault.js";
import { startAzureCloud, type AzureCloud } from "../cli/azure-cloud.js";
import { startEmbeddedCluster, type ClusterComponent } from "../cli/embedded-cluster.js";
import { freePort } from "../cli/free-port.js";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import type { KubeletEvent } from "../kubelet/simulated-kubelet.js";
import { SimulatedKubelet } from "../kubelet/simulated-kubelet.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { startChildProcess, type ChildProcessComponent } from "./child-process-component.js";
import type { DeployableBins } from "./deployable-bins.js";
import { kvDriverEnvironment, loopbackNmiArgs, micArgs, podGetsToken } from "./demo-processes.js";
import { demoSummary, flexVolumeOptionsOf, type DemoSummary } from "./demo-summary.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The `podid-mic` and `podid-nmi` launchers to run. */
  readonly bins: DeployableBins;
  /** podid's CRDs (this package's `crds.yaml`). */
  readonly crdsPath: string;
  /** Directory holding `identity.yaml`, `binding.yaml` and `pod.yaml` (this package's `examples/demo`). */
  readonly manifestsDir: string;
  readonly kubeconfigPath: string;
  /** Leave everything running after the timeline (until SIGINT/SIGTERM). */
  readonly keep: boolean;
  /** How long the scale-set PATCH takes (real ms); ARM's are ~40 s, the demo keeps it short. */
  readonly patchLatencyMs: number;
  readonly out: (line: string) => void;
  /** Resolves when the user asks to stop (used with `keep`). */
  readonly untilStopped: () => Promise<void>;
}

const SCALE_SET: ComputeTarget = { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-00000000d3e0", resourceGroup: "MC_demo_podid_westeurope", name: "aks-demo-12345678-vmss" };
const NODES = [0, 1, 2].map((i) => ({ name: `aks-demo-12345678-vmss00000${i}`, instance: i, podIp: `127.0.0.${11 + i}` }));
const DEMO_POD_NODE = 1;
const SERVICE_PRINCIPAL = { tenantId: "72f988bf-0000-4000-8000-00000000d3e0", clientId: "5d2c1f3e-0000-4000-8000-0000000c0de0", secret: "demo-secret-not-real" };
const STEP_TIMEOUT_MS = 60_000;
/** What the fake Key Vault holds for the pod (the tutorial's `appsecret1`). */
const DEMO_SECRET_VALUE = "Hello from Key Vault: this is appsecret1 of demo-kv";
/** The file the tutorial's reader cats inside the pod. */
const SECRET_FILE = "/secret1/appsecret1";

/** Runs the demo; throws with a clear message when a step does not happen in time. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const started = Date.now();
  const say = (symbol: string, text: string) => options.out(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${symbol} ${text}`);
  const components: ClusterComponent[] = [];
  const workDir = await mkdtemp(join(tmpdir(), "podid-demo-"));
  const stopAll = async () => {
    for (const component of [...components].reverse()) await component.stop().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    say("▶", "starting the embedded cluster");
    const ca = await TestCertificateAuthority.create({ dir: await mkdtemp(join(workDir, "ca-")) });
    const cluster = await startEmbeddedCluster({ kubeconfigPath: options.kubeconfigPath, manifests: [options.crdsPath] });
    components.push(...cluster.components);
    say("✓", `kube-apiserver on ${cluster.kubeApiServer.url} with the podid CRDs`);
    const identityDoc = await readYamlObjects(join(options.manifestsDir, "identity.yaml"));
    const identitySpec = (identityDoc[0]?.["spec"] ?? {}) as Record<string, string>;
    const identity = { id: identitySpec["ResourceID"] ?? identitySpec["resourceID"] ?? "", clientId: identitySpec["ClientID"] ?? identitySpec["clientID"] ?? "" };
    const azure: AzureCloud = await startAzureCloud({ ca, scaleSet: SCALE_SET, identities: [identity], servicePrincipal: SERVICE_PRINCIPAL, patchLatencyMs: options.patchLatencyMs });
    components.push(azure);
    const azureJson = join(workDir, "azure.json");
    await azure.writeAzureJson(azureJson);
    say("✓", `Azure: scale set ${SCALE_SET.name} (3 instances) behind fake ARM ${azure.arm.url}, AAD ${azure.aad.url}, IMDS ${azure.imds.url}`);

    // The Key Vault the pod's flexVolume names, holding the object it asks for, readable by the pod's identity.
    const [podManifest] = await readYamlObjects(join(options.manifestsDir, "pod.yaml"));
    if (podManifest === undefined) throw new Error(`${join(options.manifestsDir, "pod.yaml")} holds no object`);
    const kvOptions = flexVolumeOptionsOf(podManifest);
    const keyVault = await FakeKeyVault.start({ ca, tenantId: kvOptions.tenantId || SERVICE_PRINCIPAL.tenantId });
    components.push({ name: "key vault", describe: () => [`fake Key Vault on ${keyVault.endpoint}`], stop: () => keyVault.close() });
    keyVault.createVault(kvOptions.vaultName);
    keyVault.setSecret(kvOptions.vaultName, kvOptions.objectName, DEMO_SECRET_VALUE);
    keyVault.grant(kvOptions.vaultName, { clientId: identity.clientId }, { secrets: ["get"] });
    say("✓", `Key Vault ${keyVault.vaultUrl(kvOptions.vaultName)} (fake, on ${keyVault.endpoint}): secret ${kvOptions.objectName}, readable by demo-kv-reader (client ${identity.clientId}) only`);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(options.kubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    for (const node of NODES) {
      await core.createNode({
        body: {
          metadata: { name: node.name, labels: { "kubernetes.io/os": "linux", "kubernetes.azure.com/agentpool": "demo" } },
          spec: { providerID: `azure:///subscriptions/${SCALE_SET.subscriptionId}/resourceGroups/${SCALE_SET.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET.name}/virtualMachines/${node.instance}` },
        },
      });
    }
    say("✓", `nodes ${NODES.map((n) => n.name).join(", ")}`);

    const childEnv = { ...ca.childEnvironment(), KUBECONFIG: options.kubeconfigPath };
    const micProbe = await freePort();
    const mic = await startChildProcess({
      name: "MIC",
      script: options.bins.mic,
      args: micArgs({ kubeconfig: options.kubeconfigPath, cloudconfig: azureJson, probePort: micProbe, metricsPort: await freePort() }),
      env: childEnv,
      healthUrl: `http://127.0.0.1:${micProbe}/healthz`,
      startTimeoutMs: STEP_TIMEOUT_MS,
    });
    components.push(mic);
    await waitFor(async () => (await (await fetch(`http://127.0.0.1:${micProbe}/healthz`)).text()).trim() === "Active", "MIC to become leader", mic);
    say("✓", "MIC started and holds the leader Lease (/healthz: Active)");

    const nmiPorts: number[] = [];
    let firstTokenAt: number | undefined;
    for (const node of NODES) {
      const port = await freePort();
      const probe = await freePort();
      nmiPorts.push(port);
      const nmi = await startChildProcess({
        name: `NMI ${node.name}`,
        script: options.bins.nmi,
        args: loopbackNmiArgs({ node: node.name, kubeconfig: options.kubeconfigPath, port, probePort: probe, metricsPort: await freePort(), imdsPort: new URL(azure.imds.url).port }),
        env: childEnv,
        healthUrl: `http://127.0.0.1:${probe}/healthz`,
        startTimeoutMs: STEP_TIMEOUT_MS,
        // NMI's audit line of the first token it issues for the demo pod (the driver's, through /host/token).
        onLog: (line) => {
          if (firstTokenAt === undefined && line["audit"] === true && line["status"] === 200 && line["podName"] === "demo-app") {
            firstTokenAt = typeof line["time"] === "number" ? line["time"] : Date.now();
          }
        },
      });
      components.push(nmi);
    }
    say("✓", `NMI running on each node (127.0.0.1:${nmiPorts.join(", :")}), /host/token scoped to pods with a Key Vault volume`);

    const kubeletEvents: KubeletEvent[] = [];
    const kubelets = new Map<string, SimulatedKubelet>();
    for (const [index, node] of NODES.entries()) {
      const kubelet = await SimulatedKubelet.start({
        nodeName: node.name,
        core,
        rootDir: join(workDir, "kubelet", node.name),
        flexVolumeDrivers: { "azure/kv": { command: process.execPath, args: [options.bins.kv], env: kvDriverEnvironment(keyVault.childEnvironment(), nmiPorts[index] ?? 0) } },
        podIp: () => node.podIp,
        onEvent: (event) => {
          kubeletEvents.push(event);
          if (event.kind === "mount") {
            say(event.result.status === "Success" ? "●" : "…", `kubelet ${node.name}: mount ${event.volume} (azure/kv, podid-kv) attempt ${event.attempt}: ${event.result.status}${event.result.message === "" ? "" : ` — ${event.result.message}`}`);
          }
        },
      });
      kubelets.set(node.name, kubelet);
      components.push(kubelet);
    }
    say("✓", `kubelet on each node with the FlexVolume driver azure/kv (${options.bins.kv})`);

    for (const file of ["identity.yaml", "binding.yaml"]) {
      for (const object of await readYamlObjects(join(options.manifestsDir, file))) {
        await objects.create(object as KubernetesObject);
        say("▶", `applied examples/demo/${file}: ${String(object["kind"])} ${String((object["metadata"] as Record<string, unknown>)["name"])}${file === "identity.yaml" ? " (type 0, legacy ResourceID/ClientID fields)" : " (AzureIdentity/Selector: demo-kv-access)"}`);
      }
    }
    const podCreatedAt = Date.now();
    await objects.create(podManifest as KubernetesObject);
    say("▶", `applied examples/demo/pod.yaml: pod default/demo-app labelled aadpodidbinding=demo-kv-access, flexVolume azure/kv (usepodidentity, ${kvOptions.vaultName}/${kvOptions.objectName}) at /secret1`);

    // The scheduler of this cluster is the demo itself; the node's simulated kubelet does the rest.
    const podNode = NODES[DEMO_POD_NODE] ?? NODES[0];
    if (podNode === undefined) throw new Error("no nodes");
    const pod = await core.readNamespacedPod({ name: "demo-app", namespace: "default" });
    pod.spec = { ...(pod.spec ?? { containers: [] }), nodeName: podNode.name };
    await core.replaceNamespacedPod({ name: "demo-app", namespace: "default", body: pod });
    say("●", `pod scheduled to ${podNode.name}; its kubelet mounts the pod's volumes before starting it`);

    const aaiName = "demo-app-default-demo-kv-reader";
    const aaiStatus = () => {
      const object = cluster.kubeApiServer.store.get("azureassignedidentities", aaiName, "default");
      return object === undefined ? undefined : String(((object["status"] as Record<string, unknown> | undefined) ?? {})["status"] ?? "");
    };
    await waitFor(async () => aaiStatus() !== undefined, "MIC to create the AzureAssignedIdentity", mic);
    say("●", `AzureAssignedIdentity default/${aaiName}: ${aaiStatus() ?? "?"}`);
    await waitFor(async () => azure.arm.requestLog.some((r) => r.method === "PATCH"), "MIC to PATCH the scale set", mic);
    say("●", `ARM PATCH ${SCALE_SET.name}: attach demo-kv-reader (operation takes ${(options.patchLatencyMs / 1000).toFixed(1)} s)…`);
    await waitFor(async () => aaiStatus() === "Assigned", "the AzureAssignedIdentity to become Assigned", mic);
    const attached = azure.compute.identitiesOf(SCALE_SET)?.userAssignedKeys ?? [];
    say("●", `AzureAssignedIdentity default/${aaiName}: Assigned — scale set now holds ${attached.length} user-assigned identit${attached.length === 1 ? "y" : "ies"}`);

    const running = async (): Promise<V1Pod | undefined> => {
      const current = await core.readNamespacedPod({ name: "demo-app", namespace: "default" });
      return current.status?.phase === "Running" ? current : undefined;
    };
    await waitFor(async () => (await running()) !== undefined, "the kubelet to mount the Key Vault volume and start the pod", mic);
    const runningPod = await running();
    say("●", `pod running with IP ${podNode.podIp}`);
    const secretPath = runningPod === undefined ? undefined : kubelets.get(podNode.name)?.hostPath(runningPod, SECRET_FILE);
    if (secretPath === undefined) throw new Error(`no mounted volume of the pod covers ${SECRET_FILE}`);
    const secretValue = await readFile(secretPath, "utf8");
    say("●", `pod reads ${SECRET_FILE} (on this machine: ${secretPath}):`);
    options.out(`            ${secretValue}`);
    say(secretValue === DEMO_SECRET_VALUE ? "✓" : "✗", `Key Vault ${kvOptions.vaultName} holds ${kvOptions.objectName} = ${JSON.stringify(DEMO_SECRET_VALUE)}${secretValue === DEMO_SECRET_VALUE ? ": the same value" : ": DIFFERENT"}`);
    if (secretValue !== DEMO_SECRET_VALUE) throw new Error(`${SECRET_FILE} does not hold the Key Vault secret`);

    const nodePort = nmiPorts[DEMO_POD_NODE] ?? 0;
    const token = await podGetsToken(`http://127.0.0.1:${nodePort}`, podNode.podIp);
    const claims = decodeFakeJwt(token);
    say("●", `the app obtained a token through NMI with @azure/identity ManagedIdentityCredential:`);
    for (const claim of ["aud", "appid", "oid", "tid", "xms_mirid"]) options.out(`            ${claim.padEnd(9)} ${String(claims[claim as keyof typeof claims] ?? "")}`);
    const summary: DemoSummary = demoSummary({
      identity: identity.id,
      claims,
      armPatches: azure.arm.requestLog.filter((r) => r.method === "PATCH").length,
      firstTokenMs: firstTokenAt === undefined ? undefined : firstTokenAt - podCreatedAt,
      secretFile: SECRET_FILE,
      secretValue,
      keyVaultValue: DEMO_SECRET_VALUE,
      mountAttempts: kubeletEvents.filter((e) => e.kind === "mount" && e.pod === "default/demo-app").length,
    });

    if (options.keep) {
      say("✓", `running; use kubectl --kubeconfig ${options.kubeconfigPath} get azureassignedidentities -A (Ctrl-C to stop)`);
      options.out(JSON.stringify(summary));
      await options.untilStopped();
      return;
    }
    await core.deleteNamespacedPod({ name: "demo-app", namespace: "default" });
    say("▶", "deleted pod default/demo-app");
    await waitFor(async () => kubeletEvents.some((e) => e.kind === "unmount" && e.pod === "default/demo-app"), "the kubelet to unmount the Key Vault volume");
    say("●", `kubelet ${podNode.name}: unmounted the Key Vault volume`);
    await waitFor(async () => aaiStatus() === undefined, "the AzureAssignedIdentity to be removed", mic);
    await waitFor(async () => (azure.compute.identitiesOf(SCALE_SET)?.userAssignedKeys.length ?? 0) === 0, "the identity to be detached", mic);
    say("●", `AzureAssignedIdentity removed; identity detached from ${SCALE_SET.name} (its identity type is now ${azure.compute.identitiesOf(SCALE_SET)?.type ?? "?"})`);
    say("✓", "demo finished");
    options.out(JSON.stringify(summary));
  } finally {
    await stopAll();
  }
}

async function readYamlObjects(path: string): Promise<Record<string, unknown>[]> {
  return parseAllDocuments(await readFile(path, "utf8"))
    .map((doc) => doc.toJSON() as unknown)
    .filter((value): value is Record<string, unknown> => typeof value === "object" && value !== null);
}

async function waitFor(check: () => Promise<boolean>, what: string, process?: ChildProcessComponent): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // Not yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${process === undefined ? "" : `; last ${process.name} output: ${process.stderrTail().slice(-1000)}`}`);
}
