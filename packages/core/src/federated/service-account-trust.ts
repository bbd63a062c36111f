import type { AzureIdentity, PodView } from "../model/types.js";

/**
 * True when a federated (type 3) identity trusts `pod`'s service account: the pod runs in the identity's own
 * namespace under a service account the identity lists (docs/adr/0021-federated-identities.md). A binding that
 * selects any other pod grants nothing for such an identity. Meaningless (false) for other identity types.
 */
export function isServiceAccountTrusted(
  pod: Pick<PodView, "metadata" | "serviceAccountName">,
  identity: Pick<AzureIdentity, "metadata" | "spec">,
): boolean {
  return (
    identity.spec.type === 3 &&
    pod.metadata.namespace === identity.metadata.namespace &&
    identity.spec.serviceAccounts.includes(podServiceAccountName(pod))
  );
}

/** The service account `pod` runs as: a pod that names none runs as `default` (the API server fills it in). */
export function podServiceAccountName(pod: Pick<PodView, "serviceAccountName">): string {
  return pod.serviceAccountName === "" ? "default" : pod.serviceAccountName;
}
