import { createInterface } from "node:readline";
import { join } from "node:path";
import { FederatedTestbed, writeVolumePayload } from "@podid/testkit";

/**
 * The Entra ID side of a network-namespace e2e node for federated identities (docs/adr/0021-federated-identities.md),
 * run as a process INSIDE the node namespace next to NMI (compiled to `dist/federated/federated-fakes-main.js`):
 * a service-account issuer (a fake kube-apiserver over https with the run's CA: discovery, JWKS, TokenRequest),
 * the fake AAD on 127.0.0.1 with the identity and its federated identity credentials, and the token files
 * kubelet would have written for the given pods (TokenRequest bound to each pod, kubelet's AtomicWriter layout
 * under `<podsDir>/<uid>/volumes/kubernetes.io~projected/<volume>/token`). Prints one `ready` JSON line with the
 * AAD's URL and the issuer, then runs until stdin closes or SIGTERM. Setup: argv[2], {@link FederatedFakesSetup}.
 * @packageDocumentation
 */

/** What the test asks for. */
export interface FederatedFakesSetup {
  readonly podsDir: string;
  readonly identity: { readonly id: string; readonly clientId: string; readonly tenantId: string };
  /** Service accounts (`<namespace>/<name>`) the identity's federated credentials trust. */
  readonly trusted: readonly string[];
  /** Pods whose projected token to write. */
  readonly pods: readonly { readonly namespace: string; readonly name: string; readonly uid: string; readonly serviceAccount: string; readonly volume: string }[];
}

async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2] ?? "{}") as FederatedFakesSetup;
  const bed = await FederatedTestbed.start();
  bed.catalog.register({ id: setup.identity.id, clientId: setup.identity.clientId, tenantId: setup.identity.tenantId });
  for (const sa of setup.trusted) {
    const [namespace, name] = sa.split("/");
    bed.trust(setup.identity.id, namespace ?? "", name ?? "");
  }
  for (const pod of setup.pods) {
    // Pods with the uids the test chose: their token volumes live under <podsDir>/<uid>.
    bed.kube.store.upsert({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: pod.serviceAccount, namespace: pod.namespace } });
    bed.kube.store.upsert({ apiVersion: "v1", kind: "Pod", metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid }, spec: { serviceAccountName: pod.serviceAccount, containers: [{ name: "app", image: "x" }] } });
    const token = await bed.serviceAccountToken(pod.namespace, pod.serviceAccount, pod);
    await writeVolumePayload(join(setup.podsDir, pod.uid, "volumes", "kubernetes.io~projected", pod.volume), [{ path: "token", content: token, mode: 0o644 }], new Date());
  }
  process.stdout.write(`${JSON.stringify({ rpc: "ready", aadUrl: bed.aad.url, issuer: bed.kube.serviceAccountIssuer })}\n`);
  const stop = async (): Promise<void> => {
    await Promise.allSettled([bed.close()]);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  createInterface({ input: process.stdin }).on("close", () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`federated fakes failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
