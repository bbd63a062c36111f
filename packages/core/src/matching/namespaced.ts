import { BEHAVIOR_ANNOTATION, BEHAVIOR_NAMESPACED, DEFAULT_ASSIGNED_IDENTITY_NAMESPACE } from "../model/constants.js";
import type { AzureIdentity } from "../model/types.js";
import type { MatchingOptions } from "./types.js";

/**
 * True when pod, binding and identity must share a namespace for this identity: either the global
 * `--forceNamespaced` option or the identity's `aadpodidentity.k8s.io/Behavior: namespaced` annotation.
 */
export function isNamespacedIdentity(identity: AzureIdentity, options: MatchingOptions): boolean {
  return options.forceNamespaced || identity.metadata.annotations[BEHAVIOR_ANNOTATION] === BEHAVIOR_NAMESPACED;
}

/**
 * The namespace an AzureAssignedIdentity lives in: the identity's own namespace when namespaced,
 * otherwise `default` (kept from the original so existing NMIs and tooling find them).
 */
export function assignedIdentityNamespace(identity: AzureIdentity, options: MatchingOptions): string {
  return isNamespacedIdentity(identity, options) ? identity.metadata.namespace : DEFAULT_ASSIGNED_IDENTITY_NAMESPACE;
}

/** The AzureAssignedIdentity name `<pod>-<podNamespace>-<identity>` (unchanged from the original for interop). */
export function assignedIdentityName(podName: string, podNamespace: string, identityName: string): string {
  return `${podName}-${podNamespace}-${identityName}`;
}
