/**
 * `podid-sim demo --federated` (`npm run demo -- --federated`): the seed scenario with a federated identity
 * (type 3, docs/adr/0021-federated-identities.md) from the repository's `examples/demo-federated` — a
 * ServiceAccount, an AzureIdentity trusting it, the same binding, and the tutorial's pod running as that
 * account with a projected service-account token. Nothing is attached to the scale set: MIC writes one federated
 * identity credential (FIC) on the user-assigned identity through `@azure/arm-msi`, the node's simulated kubelet
 * projects the pod's token through TokenRequest, and NMI exchanges that token at the fake AAD (which fetches the
 * kube-apiserver's OIDC discovery and keys to check it) for the Key Vault driver's `/host/token` and for the
 * app's `ManagedIdentityCredential`. The timeline shows the FIC, the AzureAssignedIdentity going Assigned, the
 * AADSTS70021 answers while the FIC propagates, 0 PATCHes, the secret, the token, and the FIC removed with the
 * pod; the last line is the JSON summary.
 * @packageDocumentation
 */
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import type { DemoOptions } from "./demo.js";
import { loadPodIdentitySdk, podGetsToken } from "./demo-processes.js";
import { federatedDemoSummary, type FederatedDemoSummary } from "./federated-demo-summary.js";
import { assignedIdentityStatus, keepRunning, printTokenClaims, readPodSecret, runningPod, scheduleDemoPod, startDemoRun } from "./demo-steps.js";
import { DEMO_POD_NODE, DEMO_SECRET_VALUE, readYamlObjects, SCALE_SET, SECRET_FILE, startDemoWorld, waitFor } from "./demo-world.js";

/** Options of {@link runFederatedDemo}: the demo's, with the manifests of `examples/demo-federated`. */
export interface FederatedDemoOptions extends DemoOptions {
  /** How long the fake AAD keeps answering AADSTS70021 after a FIC is written (Entra ID: seconds to minutes). */
  readonly ficPropagationMs: number;
  /** How long one FIC write takes at the fake ARM. */
  readonly ficWriteLatencyMs: number;
}

const POD = { name: "demo-app", namespace: "default" };
const AAI_NAME = "demo-app-default-demo-kv-reader";

/** Runs the federated demo; throws with a clear message when a step does not happen in time. */
export async function runFederatedDemo(options: FederatedDemoOptions): Promise<void> {
  const run = await startDemoRun(options.out);
  const { say, components, workDir } = run;
  try {
    const world = await startDemoWorld({
      ...options,
      workDir,
      components,
      say,
      federated: { writeLatencyMs: options.ficWriteLatencyMs, propagationDelayMs: options.ficPropagationMs },
    });
    const { cluster, azure, identity, podManifest, kvOptions, core, objects, mic, nmiPorts, kubelets, kubeletEvents } = world;
    const fics = () => {
      const listed = azure.catalog.federatedCredentials.list(identity.id);
      return listed.ok ? listed.value : [];
    };

    for (const file of ["serviceaccount.yaml", "identity.yaml", "binding.yaml"]) {
      for (const manifest of await readYamlObjects(join(options.manifestsDir, file))) {
        // The demo's Azure is a custom cloud: NMI reaches Entra ID at the identity's `adEndpoint` (its authority
        // host when set), here the fake AAD. On Azure the field stays unset and NMI uses the public cloud's.
        const object = file === "identity.yaml" ? withAdEndpoint(manifest, azure.aad.url) : manifest;
        await objects.create(object as KubernetesObject);
        const name = String((object["metadata"] as Record<string, unknown>)["name"]);
        const what =
          file === "identity.yaml"
            ? ` (type 3: federated, serviceAccounts [demo-kv-app]; adEndpoint ${azure.aad.url}, the fake AAD)`
            : file === "binding.yaml"
              ? " (selector demo-kv-access, unchanged)"
              : "";
        say("▶", `applied examples/demo-federated/${file}: ${String(object["kind"])} ${name}${what}`);
      }
    }
    // The app's SDK is loaded before its pod runs, so its first token is timed from Running to the token alone.
    await loadPodIdentitySdk(`http://127.0.0.1:${nmiPorts[DEMO_POD_NODE] ?? 0}`);
    const podCreatedAt = Date.now();
    await objects.create(podManifest as KubernetesObject);
    say("▶", `applied examples/demo-federated/pod.yaml: pod default/demo-app as service account demo-kv-app, labelled aadpodidbinding=demo-kv-access, flexVolume azure/kv at /secret1, projected token (audience api://AzureADTokenExchange)`);

    const podNode = await scheduleDemoPod(core, POD);
    say("●", `pod scheduled to ${podNode.name}; its kubelet projects the pod's token and mounts the Key Vault volume before starting it`);

    const aaiStatus = () => assignedIdentityStatus(cluster, AAI_NAME, POD.namespace);
    await waitFor(async () => aaiStatus() !== undefined, "MIC to create the AzureAssignedIdentity", mic);
    say("●", `AzureAssignedIdentity default/${AAI_NAME}: ${aaiStatus() ?? "?"}`);
    await waitFor(async () => fics().length > 0, "MIC to write the federated identity credential", mic);
    const fic = fics()[0];
    say("●", `ARM: federated identity credential ${fic?.name ?? "?"} created on demo-kv-reader: issuer ${fic?.issuer ?? "?"}, subject ${fic?.subject ?? "?"}, audience ${fic?.audiences.join(",") ?? "?"}`);
    await waitFor(async () => aaiStatus() === "Assigned", "the AzureAssignedIdentity to become Assigned", mic);
    const patchesNow = () => azure.arm.requestLog.filter((r) => r.method === "PATCH").length;
    say("●", `AzureAssignedIdentity default/${AAI_NAME}: Assigned — ${patchesNow()} VM/VMSS PATCH; scale set holds ${azure.compute.identitiesOf(SCALE_SET)?.userAssignedKeys.length ?? 0} user-assigned identities`);

    await waitFor(async () => (await runningPod(core, POD)) !== undefined, "the kubelet to mount the Key Vault volume and start the pod", mic);
    // The app starts as soon as the pod runs: its first token is timed from the kubelet reporting Running.
    const runningAt = kubeletEvents.find((e) => e.kind === "running" && e.pod === `${POD.namespace}/${POD.name}`)?.atMs ?? Date.now();
    const token = await podGetsToken(`http://127.0.0.1:${nmiPorts[DEMO_POD_NODE] ?? 0}`, podNode.podIp);
    const firstTokenAfterRunningMs = Date.now() - runningAt;
    const pod = await runningPod(core, POD);
    say("●", `pod running with IP ${podNode.podIp}`);
    const exchanges = azure.aad.federatedCounts();
    say("●", `AAD: ${exchanges.refused} exchange(s) refused with AADSTS70021 while the credential propagated (${options.ficPropagationMs} ms), ${exchanges.accepted} accepted; issuer discovery and keys fetched ${exchanges.issuerDocumentFetches} time(s)`);
    const secretValue = await readPodSecret({ run, out: options.out, kubelets, podNode, pod, kvOptions });

    const claims = decodeFakeJwt(token);
    say("●", `the app obtained a token through NMI with @azure/identity ManagedIdentityCredential, ${firstTokenAfterRunningMs} ms after the pod turned Running (${exchanges.accepted} accepted exchange(s) of the pod's own service-account token at AAD in all: NMI caches per identity, service account and resource, so the driver and the app share it):`);
    printTokenClaims(options.out, claims);
    const ficCounts = azure.catalog.federatedCredentials.counts();
    const firstTokenAt = world.firstTokenAt();
    const summary = (ficRemovedWithPod: boolean | null): FederatedDemoSummary =>
      federatedDemoSummary({
        identity: identity.id,
        claims,
        armPatches: patchesNow(),
        firstTokenMs: firstTokenAt === undefined ? undefined : firstTokenAt - podCreatedAt,
        secretFile: SECRET_FILE,
        secretValue,
        keyVaultValue: DEMO_SECRET_VALUE,
        mountAttempts: kubeletEvents.filter((e) => e.kind === "mount" && e.pod === `${POD.namespace}/${POD.name}`).length,
        ficWrites: ficCounts.creates + ficCounts.updates,
        ficName: fic?.name ?? "",
        aadExchanges: { accepted: exchanges.accepted, refused: exchanges.refused },
        firstTokenAfterRunningMs,
        ficRemovedWithPod,
      });

    if (options.keep) {
      await keepRunning(run, options, summary(null));
      return;
    }
    await core.deleteNamespacedPod(POD);
    say("▶", "deleted pod default/demo-app");
    await waitFor(async () => kubeletEvents.some((e) => e.kind === "unmount" && e.pod === `${POD.namespace}/${POD.name}`), "the kubelet to unmount the Key Vault volume");
    say("●", `kubelet ${podNode.name}: unmounted the Key Vault volume and removed the projected token`);
    await waitFor(async () => aaiStatus() === undefined, "the AzureAssignedIdentity to be removed", mic);
    await waitFor(async () => fics().length === 0, "MIC to delete the federated identity credential it created", mic);
    say("●", `AzureAssignedIdentity removed; federated identity credential ${fic?.name ?? "?"} deleted (no pod of default/demo-kv-app uses the identity); ${patchesNow()} VM/VMSS PATCH in the whole run`);
    say("✓", "demo finished");
    options.out(JSON.stringify(summary(true)));
  } finally {
    await run.stopAll();
  }
}

/** `manifest` with `spec.adEndpoint` set (the AzureIdentity's authority host for Entra ID). */
function withAdEndpoint(manifest: Record<string, unknown>, adEndpoint: string): Record<string, unknown> {
  return { ...manifest, spec: { ...((manifest["spec"] as Record<string, unknown> | undefined) ?? {}), adEndpoint } };
}
