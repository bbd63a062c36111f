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
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import type { DeployableBins } from "./deployable-bins.js";
import { podGetsToken } from "./demo-processes.js";
import { demoSummary, type DemoSummary } from "./demo-summary.js";
import { assignedIdentityStatus, keepRunning, printTokenClaims, readPodSecret, runningPod, scheduleDemoPod, startDemoRun } from "./demo-steps.js";
import { DEMO_POD_NODE, DEMO_SECRET_VALUE, readYamlObjects, SCALE_SET, SECRET_FILE, startDemoWorld, waitFor } from "./demo-world.js";

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

const POD = { name: "demo-app", namespace: "default" };

/** Runs the demo; throws with a clear message when a step does not happen in time. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const run = await startDemoRun(options.out);
  const { say, components, workDir } = run;
  try {
    const world = await startDemoWorld({ ...options, workDir, components, say });
    const { cluster, azure, identity, podManifest, kvOptions, core, objects, mic, nmiPorts, kubelets, kubeletEvents } = world;

    for (const file of ["identity.yaml", "binding.yaml"]) {
      for (const object of await readYamlObjects(join(options.manifestsDir, file))) {
        await objects.create(object as KubernetesObject);
        say("▶", `applied examples/demo/${file}: ${String(object["kind"])} ${String((object["metadata"] as Record<string, unknown>)["name"])}${file === "identity.yaml" ? " (type 0, legacy ResourceID/ClientID fields)" : " (AzureIdentity/Selector: demo-kv-access)"}`);
      }
    }
    const podCreatedAt = Date.now();
    await objects.create(podManifest as KubernetesObject);
    say("▶", `applied examples/demo/pod.yaml: pod default/demo-app labelled aadpodidbinding=demo-kv-access, flexVolume azure/kv (usepodidentity, ${kvOptions.vaultName}/${kvOptions.objectName}) at /secret1`);

    const podNode = await scheduleDemoPod(core, POD);
    say("●", `pod scheduled to ${podNode.name}; its kubelet mounts the pod's volumes before starting it`);

    const aaiName = "demo-app-default-demo-kv-reader";
    const aaiStatus = () => assignedIdentityStatus(cluster, aaiName, POD.namespace);
    await waitFor(async () => aaiStatus() !== undefined, "MIC to create the AzureAssignedIdentity", mic);
    say("●", `AzureAssignedIdentity default/${aaiName}: ${aaiStatus() ?? "?"}`);
    await waitFor(async () => azure.arm.requestLog.some((r) => r.method === "PATCH"), "MIC to PATCH the scale set", mic);
    say("●", `ARM PATCH ${SCALE_SET.name}: attach demo-kv-reader (operation takes ${(options.patchLatencyMs / 1000).toFixed(1)} s)…`);
    await waitFor(async () => aaiStatus() === "Assigned", "the AzureAssignedIdentity to become Assigned", mic);
    const attached = azure.compute.identitiesOf(SCALE_SET)?.userAssignedKeys ?? [];
    say("●", `AzureAssignedIdentity default/${aaiName}: Assigned — scale set now holds ${attached.length} user-assigned identit${attached.length === 1 ? "y" : "ies"}`);

    await waitFor(async () => (await runningPod(core, POD)) !== undefined, "the kubelet to mount the Key Vault volume and start the pod", mic);
    const pod = await runningPod(core, POD);
    say("●", `pod running with IP ${podNode.podIp}`);
    const secretValue = await readPodSecret({ run, out: options.out, kubelets, podNode, pod, kvOptions });

    const nodePort = nmiPorts[DEMO_POD_NODE] ?? 0;
    const token = await podGetsToken(`http://127.0.0.1:${nodePort}`, podNode.podIp);
    const claims = decodeFakeJwt(token);
    say("●", `the app obtained a token through NMI with @azure/identity ManagedIdentityCredential:`);
    printTokenClaims(options.out, claims);
    const summary: DemoSummary = demoSummary({
      identity: identity.id,
      claims,
      armPatches: azure.arm.requestLog.filter((r) => r.method === "PATCH").length,
      firstTokenMs: ((at) => (at === undefined ? undefined : at - podCreatedAt))(world.firstTokenAt()),
      secretFile: SECRET_FILE,
      secretValue,
      keyVaultValue: DEMO_SECRET_VALUE,
      mountAttempts: kubeletEvents.filter((e) => e.kind === "mount" && e.pod === "default/demo-app").length,
    });

    if (options.keep) {
      await keepRunning(run, options, summary);
      return;
    }
    await core.deleteNamespacedPod(POD);
    say("▶", "deleted pod default/demo-app");
    await waitFor(async () => kubeletEvents.some((e) => e.kind === "unmount" && e.pod === "default/demo-app"), "the kubelet to unmount the Key Vault volume");
    say("●", `kubelet ${podNode.name}: unmounted the Key Vault volume`);
    await waitFor(async () => aaiStatus() === undefined, "the AzureAssignedIdentity to be removed", mic);
    await waitFor(async () => (azure.compute.identitiesOf(SCALE_SET)?.userAssignedKeys.length ?? 0) === 0, "the identity to be detached", mic);
    say("●", `AzureAssignedIdentity removed; identity detached from ${SCALE_SET.name} (its identity type is now ${azure.compute.identitiesOf(SCALE_SET)?.type ?? "?"})`);
    say("✓", "demo finished");
    options.out(JSON.stringify(summary));
  } finally {
    await run.stopAll();
  }
}
