import { BINDING_LABEL } from "../model/constants.js";
import type {
  AssignedIdentityState,
  AssignedIdentityWireStatus,
  AzureAssignedIdentity,
  AzureIdentity,
  PodView,
} from "../model/types.js";
import { isNamespacedIdentity } from "../matching/namespaced.js";
import type { MatchingOptions } from "../matching/types.js";
import { matchesSelector, selectCandidate, type SelectionOptions } from "./identity-selection.js";
import type { IdentitySelector } from "./token-request.js";

/**
 * Standard mode: a pod may use exactly the identities MIC has recorded for it as AzureAssignedIdentities.
 * @packageDocumentation
 */

/** The state an AAI status stands for: `""` (written by MIC before 1.5) counts as `Assigned`, as in the original. */
export function effectiveAssignedState(status: AssignedIdentityWireStatus): AssignedIdentityState {
  return status === "" ? "Assigned" : status;
}

/** What the caller asked for, as far as identity choice is concerned. */
export interface IdentityRequest {
  readonly selector?: IdentitySelector;
}

/** Options of {@link chooseStandardIdentity}. */
export interface StandardChoiceOptions extends MatchingOptions, SelectionOptions {}

/** The outcome of standard-mode identity choice. */
export type StandardIdentityChoice =
  /** Use `identity` (the AAI's embedded copy), granted by `aai`. */
  | {
      readonly kind: "chosen";
      readonly mode: "standard";
      readonly identity: AzureIdentity;
      readonly aai: AzureAssignedIdentity;
    }
  /** A matching AAI exists but is still `Created` (MIC is assigning it on the VM/VMSS): the caller may wait. */
  | { readonly kind: "notYetAssigned"; readonly mode: "standard"; readonly pending: readonly AzureAssignedIdentity[] }
  /** The pod has no usable AAI at all yet; MIC may not have processed it: the caller may wait. */
  | { readonly kind: "noneAssigned"; readonly mode: "standard" }
  /** The pod has AAIs, but none for the requested identity. */
  | { readonly kind: "notFound"; readonly mode: "standard"; readonly selector: IdentitySelector };

/**
 * True when `aai` grants an identity to this very pod. Beyond the original's `spec.pod`/`spec.podNamespace`
 * match it requires: the AAI is not being deleted and not `Unassigned`; it was made for the pod's node
 * (an AAI left from another node is assigned to another VM); namespaced identities (global
 * `--forceNamespaced` or the per-identity annotation) live — with their binding — in the pod's namespace;
 * and the pod still carries the `aadpodidbinding` value of the AAI's embedded binding.
 *
 * AAIs carry no pod UID, so a pod deleted and re-created under the same name inherits its predecessor's
 * AAIs. Comparing creation timestamps would refuse exactly the legitimate case — MIC keys AAIs by pod name
 * and keeps the existing one for a re-created StatefulSet pod — so podid instead re-checks the one thing
 * that made the grant valid, the selector label; a same-named pod with other labels gets nothing.
 */
export function isAssignedIdentityForPod(aai: AzureAssignedIdentity, pod: PodView, options: MatchingOptions): boolean {
  const { spec } = aai;
  if (spec.pod !== pod.metadata.name || spec.podNamespace !== pod.metadata.namespace) return false;
  if (spec.nodeName !== pod.nodeName || aai.metadata.deletionTimestamp !== undefined) return false;
  if (effectiveAssignedState(aai.status) === "Unassigned") return false;
  const label = pod.metadata.labels[BINDING_LABEL];
  if (label === undefined || label !== spec.azureBindingRef.spec.selector) return false;
  if (isNamespacedIdentity(spec.azureIdentityRef, options)) {
    const namespace = pod.metadata.namespace;
    if (spec.azureIdentityRef.metadata.namespace !== namespace) return false;
    if (spec.azureBindingRef.metadata.namespace !== namespace) return false;
  }
  return true;
}

/**
 * Chooses the identity for a token request in standard mode from the AAIs of this node. With a selector:
 * the matching `Assigned` AAI, else `notYetAssigned` if a matching one is `Created`, else `notFound` if the
 * pod has AAIs, else `noneAssigned`. Without one: the first `Assigned` AAI in deterministic order (see
 * `selectCandidate`), else `notYetAssigned`/`noneAssigned`. Never a list: the original could answer with
 * several identities' tokens; podid names exactly one.
 *
 * Deviation: the original waited up to 80 s for a requested identity that was not even `Created`; podid
 * answers `notFound` at once when the pod already has other AAIs (MIC has processed it), so a typo in
 * `client_id` gets its 404 in milliseconds (#1402), and only waits while the pod has no AAI at all.
 */
export function chooseStandardIdentity(
  pod: PodView,
  assignedIdentities: readonly AzureAssignedIdentity[],
  request: IdentityRequest,
  options: StandardChoiceOptions,
): StandardIdentityChoice {
  const own = assignedIdentities.filter((aai) => isAssignedIdentityForPod(aai, pod, options));
  const assigned = own.filter((aai) => effectiveAssignedState(aai.status) === "Assigned");
  const created = own.filter((aai) => effectiveAssignedState(aai.status) === "Created");
  const identityOf = (aai: AzureAssignedIdentity): AzureIdentity => aai.spec.azureIdentityRef;
  const grantOf = (aai: AzureAssignedIdentity) => aai.metadata;
  const chosen = selectCandidate(assigned, identityOf, grantOf, request.selector, options);
  if (chosen !== undefined) return { kind: "chosen", mode: "standard", identity: chosen.spec.azureIdentityRef, aai: chosen };
  const { selector } = request;
  const pending = selector === undefined ? created : created.filter((aai) => matchesSelector(identityOf(aai), selector, options));
  if (pending.length > 0) return { kind: "notYetAssigned", mode: "standard", pending };
  // Without a selector, `own` is exactly `assigned` + `created`, both empty here.
  if (own.length === 0 || selector === undefined) return { kind: "noneAssigned", mode: "standard" };
  return { kind: "notFound", mode: "standard", selector };
}
