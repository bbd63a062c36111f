import { BINDING_LABEL } from "../model/constants.js";
import type {
  AssignedIdentityState,
  AssignedIdentityWireStatus,
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  PodView,
} from "../model/types.js";
import { backAssignedIdentity, type LiveIdentityObjects, type UnbackedAssignment } from "./assignment-backing.js";
import { isNamespacedIdentity } from "../matching/namespaced.js";
import type { MatchingOptions } from "../matching/types.js";
import { mayBeAssigned } from "./assignment-prospect.js";
import { matchesSelector, selectCandidate, type SelectionOptions } from "./identity-selection.js";
import type { IdentitySelector } from "./token-request.js";

/**
 * Standard mode: a pod may use exactly the identities MIC has recorded for it as AzureAssignedIdentities
 * and that the live bindings and identities still grant it (`backAssignedIdentity`).
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
  /**
   * Use `identity` — the LIVE AzureIdentity, never the AAI's embedded copy — granted by `aai` and backed
   * by the live `binding`.
   */
  | {
      readonly kind: "chosen";
      readonly mode: "standard";
      readonly identity: AzureIdentity;
      readonly aai: AzureAssignedIdentity;
      readonly binding: AzureIdentityBinding;
    }
  /** A matching AAI exists but is still `Created` (MIC is assigning it on the VM/VMSS): the caller may wait. */
  | { readonly kind: "notYetAssigned"; readonly mode: "standard"; readonly pending: readonly AzureAssignedIdentity[] }
  /** The pod has no usable AAI at all yet; MIC may not have processed it: the caller may wait. */
  | { readonly kind: "noneAssigned"; readonly mode: "standard" }
  /**
   * The pod has no AAI and no live binding can select it (`mayBeAssigned`): MIC will write none, so there is
   * nothing to wait for.
   */
  | { readonly kind: "unbound"; readonly mode: "standard" }
  /** The pod has AAIs, but none for the requested identity. */
  | { readonly kind: "notFound"; readonly mode: "standard"; readonly selector: IdentitySelector }
  /**
   * AAIs name the pod (and, with a selector, the requested identity), but the live bindings and identities
   * do not grant it: forged or stale objects. Refused at once, never waited on.
   */
  | { readonly kind: "unbacked"; readonly mode: "standard"; readonly refused: readonly UnbackedAssignment[] };

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

/** An AAI aimed at the pod together with the live identity and binding that back it. */
interface Backed {
  readonly aai: AzureAssignedIdentity;
  readonly identity: AzureIdentity;
  readonly binding: AzureIdentityBinding;
}

/** The identity a backed AAI grants (module-level: a token decision runs per request and allocates no closure for it). */
const identityOf = (b: Backed): AzureIdentity => b.identity;
/** What orders backed AAIs (`selectCandidate`'s deterministic order). */
const grantOf = (b: Backed): AzureAssignedIdentity["metadata"] => b.aai.metadata;

/**
 * Chooses the identity for a token request in standard mode from the AAIs of this node. An AAI counts only
 * when {@link isAssignedIdentityForPod} holds and the live chain backs it (`backAssignedIdentity`: a live
 * binding selecting the pod names the live identity the AAI names, namespaced rules applied); the identity
 * used is the live one. With a selector: the matching `Assigned` AAI, else `notYetAssigned` if a matching
 * one is `Created`, else `unbacked` if only AAIs the live objects do not back match, else `notFound` if the
 * pod has AAIs, else `noneAssigned`. Without one: the first `Assigned` AAI in deterministic order (see
 * `selectCandidate`), else `notYetAssigned`/`unbacked`/`noneAssigned`. Never a list: the original could
 * answer with several identities' tokens; podid names exactly one.
 *
 * Deviations: the original trusted the AAI alone — an `Assigned` object anyone wrote was a grant, and the
 * token came from its embedded identity copy; podid refuses such an object (`unbacked`). The original also
 * waited up to 80 s for a requested identity that was not even `Created`; podid answers `notFound` at once
 * when the pod already has other AAIs (MIC has processed it), so a typo in `client_id` gets its 404 in
 * milliseconds (#1402), and only waits while the pod has no AAI at all — and only while MIC can still
 * write one: a pod without any AAI that no live binding can select (`mayBeAssigned`: no `aadpodidbinding`
 * label, or no binding in scope with its value) is `unbound` at once, where the original waited 80 s.
 */
export function chooseStandardIdentity(
  pod: PodView,
  assignedIdentities: readonly AzureAssignedIdentity[],
  live: LiveIdentityObjects,
  request: IdentityRequest,
  options: StandardChoiceOptions,
): StandardIdentityChoice {
  const aimed = assignedIdentities.filter((aai) => isAssignedIdentityForPod(aai, pod, options));
  const own: Backed[] = [];
  const unbacked: UnbackedAssignment[] = [];
  for (const aai of aimed) {
    const backing = backAssignedIdentity(aai, pod, live, options);
    if (backing.ok) own.push({ aai, identity: backing.value.identity, binding: backing.value.binding });
    else unbacked.push(backing.error);
  }
  const assigned = own.filter((b) => effectiveAssignedState(b.aai.status) === "Assigned");
  const chosen = selectCandidate(assigned, identityOf, grantOf, request.selector, options);
  if (chosen !== undefined) return { kind: "chosen", mode: "standard", identity: chosen.identity, aai: chosen.aai, binding: chosen.binding };
  const created = own.filter((b) => effectiveAssignedState(b.aai.status) === "Created");
  const { selector } = request;
  const pending = (selector === undefined ? created : created.filter((b) => matchesSelector(b.identity, selector, options))).map((b) => b.aai);
  if (pending.length > 0) return { kind: "notYetAssigned", mode: "standard", pending };
  // Reported by what the AAI claims; its claims never reach a fetch.
  const refused = selector === undefined ? unbacked : unbacked.filter((u) => matchesSelector(u.aai.spec.azureIdentityRef, selector, options));
  if (refused.length > 0) return { kind: "unbacked", mode: "standard", refused };
  // Without a selector, `aimed` is exactly `assigned` + `created` + `unbacked`, all empty here.
  if (aimed.length === 0 && !mayBeAssigned(pod, live, options)) return { kind: "unbound", mode: "standard" };
  if (aimed.length === 0 || selector === undefined) return { kind: "noneAssigned", mode: "standard" };
  return { kind: "notFound", mode: "standard", selector };
}
