/**
 * What both demos (`podid-sim demo` and `podid-sim demo --federated`) start before the story begins: the
 * embedded cluster, the Azure fakes with the example identity, the fake Key Vault holding the pod's secret,
 * three scale-set nodes, the real MIC, one real NMI per node and a simulated kubelet per node running the
 * real `podid-kv` FlexVolume driver. The federated variant serves the kube-apiserver over https with the run's
 * CA (its service-account issuer is then an https URL the fake AAD fetches discovery and keys from), gives the
 * fake ARM federated identity credentials with a write latency and propagation delay, starts MIC with
 * `--service-account-issuer` and the NMIs with `--kubelet-pods-dir` = their kubelet's pods directory
 * (docs/adr/0021-federated-identities.md).
 * @packageDocumentation
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { ComputeTarget } from "@podid/core";
import { FakeKeyVault } from "../azure/key-vault/fake-key-vault.js";
import { startAzureCloud, type AzureCloud } from "../cli/azure-cloud.js";
import { startEmbeddedCluster, type ClusterComponent, type EmbeddedCluster } from "../cli/embedded-cluster.js";
import { freePort } from "../cli/free-port.js";
import type { KubeletEvent } from "../kubelet/simulated-kubelet.js";
import { SimulatedKubelet } from "../kubelet/simulated-kubelet.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { startChildProcess, type ChildProcessComponent } from "./child-process-component.js";
import type { DeployableBins } from "./deployable-bins.js";
import { kvDriverEnvironment, loopbackNmiArgs, micArgs } from "./demo-processes.js";
import { flexVolumeOptionsOf, type PodKeyVaultOptions } from "./demo-summary.js";

export const SCALE_SET: ComputeTarget = { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-00000000d3e0", resourceGroup: "MC_demo_podid_westeurope", name: "aks-demo-12345678-vmss" };
export const NODES = [0, 1, 2].map((i) => ({ name: `aks-demo-12345678-vmss00000${i}`, instance: i, podIp: `127.0.0.${11 + i}` }));
/** The node the demo schedules its pod to. */
export const DEMO_POD_NODE = 1;
const SERVICE_PRINCIPAL = { tenantId: "72f988bf-0000-4000-8000-00000000d3e0", clientId: "5d2c1f3e-0000-4000-8000-0000000c0de0", secret: "demo-secret-not-real" };
export const STEP_TIMEOUT_MS = 60_000;
/** What the fake Key Vault holds for the pod (the tutorial's `appsecret1`). */
export const DEMO_SECRET_VALUE = "Hello from Key Vault: this is appsecret1 of demo-kv";
/** The file the tutorial's reader cats inside the pod. */
export const SECRET_FILE = "/secret1/appsecret1";

/** What {@link startDemoWorld} needs. */
export interface DemoWorldOptions {
  readonly bins: DeployableBins;
  readonly crdsPath: string;
  readonly manifestsDir: string;
  readonly kubeconfigPath: string;
  readonly patchLatencyMs: number;
  /** Federated identities (type 3): FIC write latency and propagation delay of the fakes (real ms). */
  readonly federated?: { readonly writeLatencyMs: number; readonly propagationDelayMs: number };
  readonly workDir: string;
  /** Every started part is pushed here (the caller stops them in reverse). */
  readonly components: ClusterComponent[];
  readonly say: (symbol: string, text: string) => void;
}

/** The started world. */
export interface DemoWorld {
  readonly ca: TestCertificateAuthority;
  readonly cluster: EmbeddedCluster;
  readonly azure: AzureCloud;
  /** The example identity: ARM id, client id and the parsed `identity.yaml` object. */
  readonly identity: { readonly id: string; readonly clientId: string; readonly manifest: Record<string, unknown> };
  readonly podManifest: Record<string, unknown>;
  readonly kvOptions: PodKeyVaultOptions;
  readonly keyVault: FakeKeyVault;
  readonly core: CoreV1Api;
  readonly objects: KubernetesObjectApi;
  readonly mic: ChildProcessComponent;
  readonly nmiPorts: readonly number[];
  readonly kubelets: ReadonlyMap<string, SimulatedKubelet>;
  readonly kubeletEvents: readonly (KubeletEvent & { readonly atMs: number })[];
  /** When NMI issued its first token for pod `demo-app` (its audit line), ms since the epoch. */
  readonly firstTokenAt: () => number | undefined;
}

/** Starts everything; the parts started so far are in `options.components` when it throws. */
export async function startDemoWorld(options: DemoWorldOptions): Promise<DemoWorld> {
  const { say, components, workDir } = options;
  const federated = options.federated !== undefined;
  say("▶", "starting the embedded cluster");
  const ca = await TestCertificateAuthority.create({ dir: await mkdtemp(join(workDir, "ca-")) });
  const cluster = await startEmbeddedCluster({
    kubeconfigPath: options.kubeconfigPath,
    manifests: [options.crdsPath],
    // Entra ID (here the fake AAD) only accepts https issuers whose certificate it trusts: the run's CA.
    ...(federated ? { serverTls: { ...(await ca.issueServerCertificate()), ca: ca.certPem } } : {}),
  });
  components.push(...cluster.components);
  say("✓", `kube-apiserver on ${cluster.kubeApiServer.url} with the podid CRDs${federated ? `; service-account issuer ${cluster.kubeApiServer.serviceAccountIssuer} (OIDC discovery and JWKS served)` : ""}`);
  const [identityManifest] = await readYamlObjects(join(options.manifestsDir, "identity.yaml"));
  if (identityManifest === undefined) throw new Error(`${join(options.manifestsDir, "identity.yaml")} holds no object`);
  const identitySpec = (identityManifest["spec"] ?? {}) as Record<string, string>;
  const identity = { id: identitySpec["ResourceID"] ?? identitySpec["resourceID"] ?? "", clientId: identitySpec["ClientID"] ?? identitySpec["clientID"] ?? "", manifest: identityManifest };
  const azure = await startAzureCloud({
    ca,
    scaleSet: SCALE_SET,
    identities: [identity],
    servicePrincipal: SERVICE_PRINCIPAL,
    patchLatencyMs: options.patchLatencyMs,
    ...(options.federated !== undefined ? { federated: options.federated } : {}),
  });
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
  const issuer = cluster.kubeApiServer.serviceAccountIssuer;
  const mic = await startChildProcess({
    name: "MIC",
    script: options.bins.mic,
    args: [
      ...micArgs({ kubeconfig: options.kubeconfigPath, cloudconfig: azureJson, probePort: micProbe, metricsPort: await freePort() }),
      ...(federated ? [`--service-account-issuer=${issuer}`] : []),
    ],
    env: childEnv,
    healthUrl: `http://127.0.0.1:${micProbe}/healthz`,
    startTimeoutMs: STEP_TIMEOUT_MS,
  });
  components.push(mic);
  await waitFor(async () => (await (await fetch(`http://127.0.0.1:${micProbe}/healthz`)).text()).trim() === "Active", "MIC to become leader", mic);
  say("✓", `MIC started and holds the leader Lease (/healthz: Active)${federated ? `; --service-account-issuer=${issuer}` : ""}`);

  const podsDir = (node: string) => join(workDir, "kubelet", node, "pods");
  const nmiPorts: number[] = [];
  let firstTokenAt: number | undefined;
  for (const node of NODES) {
    const port = await freePort();
    const probe = await freePort();
    nmiPorts.push(port);
    const nmi = await startChildProcess({
      name: `NMI ${node.name}`,
      script: options.bins.nmi,
      args: [
        ...loopbackNmiArgs({ node: node.name, kubeconfig: options.kubeconfigPath, port, probePort: probe, metricsPort: await freePort(), imdsPort: new URL(azure.imds.url).port }),
        ...(federated ? [`--kubelet-pods-dir=${podsDir(node.name)}`] : []),
      ],
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
  say("✓", `NMI running on each node (127.0.0.1:${nmiPorts.join(", :")}), /host/token scoped to pods with a Key Vault volume${federated ? "; pods' projected tokens read from their kubelet's pods directory" : ""}`);

  const kubeletEvents: (KubeletEvent & { readonly atMs: number })[] = [];
  const kubelets = new Map<string, SimulatedKubelet>();
  for (const [index, node] of NODES.entries()) {
    const kubelet = await SimulatedKubelet.start({
      nodeName: node.name,
      core,
      rootDir: join(workDir, "kubelet", node.name),
      flexVolumeDrivers: { "azure/kv": { command: process.execPath, args: [options.bins.kv], env: kvDriverEnvironment(keyVault.childEnvironment(), nmiPorts[index] ?? 0) } },
      podIp: () => node.podIp,
      onEvent: (event) => {
        kubeletEvents.push({ ...event, atMs: Date.now() });
        if (event.kind === "mount") {
          say(event.result.status === "Success" ? "●" : "…", `kubelet ${node.name}: mount ${event.volume} (azure/kv, podid-kv) attempt ${event.attempt}: ${event.result.status}${event.result.message === "" ? "" : ` — ${event.result.message}`}`);
        }
        if (event.kind === "projectToken" && event.reason === "setUp") {
          say(event.ok ? "●" : "…", `kubelet ${node.name}: projected service-account token ${event.volume} (TokenRequest bound to the pod)${event.ok ? "" : ` failed — ${event.message}`}`);
        }
      },
    });
    kubelets.set(node.name, kubelet);
    components.push(kubelet);
  }
  say("✓", `kubelet on each node with the FlexVolume driver azure/kv (${options.bins.kv})`);
  return { ca, cluster, azure, identity, podManifest, kvOptions, keyVault, core, objects, mic, nmiPorts, kubelets, kubeletEvents, firstTokenAt: () => firstTokenAt };
}

/** The YAML documents of a manifest file that are objects. */
export async function readYamlObjects(path: string): Promise<Record<string, unknown>[]> {
  return parseAllDocuments(await readFile(path, "utf8"))
    .map((doc) => doc.toJSON() as unknown)
    .filter((value): value is Record<string, unknown> => typeof value === "object" && value !== null);
}

/** Polls `check` every 100 ms until it holds; throws naming `what` (and the process's last output) after {@link STEP_TIMEOUT_MS}. */
export async function waitFor(check: () => Promise<boolean>, what: string, process?: ChildProcessComponent): Promise<void> {
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
