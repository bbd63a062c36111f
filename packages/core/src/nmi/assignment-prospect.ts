import { isServiceAccountTrusted } from "../federated/service-account-trust.js";
import { IdentityType, type AzureIdentity, type PodView } from "../model/types.js";
import { bindingMatchesPod } from "../matching/binding-matches-pod.js";
import { isNamespacedIdentity } from "../matching/namespaced.js";
import type { MatchingOptions } from "../matching/types.js";
import type { LiveIdentityObjects } from "./assignment-backing.js";

/**
 * Whether MIC can still give a pod an identity: decides whether NMI waits for an AzureAssignedIdentity or
 * answers "no identity" at once.
 * @packageDocumentation
 */

/**
 * True when some live binding selects `pod` under MIC's namespace rules (`matchAssignments`): the binding's
 * selector equals the pod's `aadpodidbinding` label, and when the identity is namespaced (global
 * `forceNamespaced`, or the identity's Behavior annotation) pod, binding and identity share the pod's
 * namespace. A binding whose identity does not exist (yet) still counts unless `forceNamespaced` rules it out
 * by namespace: the identity may be created next, and the wait is bounded. False means MIC will never write
 * an AzureAssignedIdentity for the pod as the cluster stands, so waiting for one is pointless.
 */
export function mayBeAssigned(pod: PodView, input: LiveIdentityObjects, options: MatchingOptions): boolean {
  const namespace = pod.metadata.namespace;
  return input.bindings.some((binding) => {
    if (!bindingMatchesPod(binding, pod)) return false;
    const sameNamespace = binding.metadata.namespace === namespace;
    if (options.forceNamespaced && !sameNamespace) return false;
    const identity = input.identities.find(
      (i) => i.metadata.namespace === binding.metadata.namespace && i.metadata.name === binding.spec.azureIdentity,
    );
    if (identity === undefined) return true;
    // MIC writes no AzureAssignedIdentity for a federated identity that does not trust the pod's service account.
    if (identity.spec.type === IdentityType.Federated && !isServiceAccountTrusted(pod, identity)) return false;
    return !isNamespacedIdentity(identity, options) || sameNamespace;
  });
}

/**
 * A federated identity (type 3) that a live binding selecting `pod` names (under the same namespace rules as
 * {@link mayBeAssigned}) but that does not trust the pod's service account: the reason such a pod, which MIC
 * gives no AzureAssignedIdentity, is answered 403 `serviceAccountNotTrusted` rather than "no identity"
 * (docs/adr/0021-federated-identities.md). `undefined` when there is none.
 */
export function untrustedFederatedIdentity(pod: PodView, input: LiveIdentityObjects, options: MatchingOptions): AzureIdentity | undefined {
  const namespace = pod.metadata.namespace;
  for (const binding of input.bindings) {
    if (!bindingMatchesPod(binding, pod)) continue;
    if (options.forceNamespaced && binding.metadata.namespace !== namespace) continue;
    const identity = input.identities.find(
      (i) => i.metadata.namespace === binding.metadata.namespace && i.metadata.name === binding.spec.azureIdentity,
    );
    if (identity !== undefined && identity.spec.type === IdentityType.Federated && !isServiceAccountTrusted(pod, identity)) return identity;
  }
  return undefined;
}
