import type { AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding, PodView } from "../model/types.js";
import { bindingMatchesPod } from "../matching/binding-matches-pod.js";
import { matchPodAssignments } from "../matching/desired-assignments.js";
import { indexIdentities, type BindingsBySelector, type IdentityIndex } from "../matching/indexes.js";
import { namespacedKey } from "../matching/order.js";
import { podBindingLabel } from "../matching/pod-binding-label.js";
import type { DesiredAssignment, MatchingOptions } from "../matching/types.js";
import type { Result } from "../result.js";

/**
 * Standard mode never trusts an AzureAssignedIdentity on its own: whoever can write AAIs could otherwise
 * hand any pod any identity. An AAI only points at a grant; the grant itself must hold in the live objects
 * (docs/compatibility.md#where-podid-is-deliberately-stricter).
 * @packageDocumentation
 */

/** The live AzureIdentityBindings and AzureIdentities (every namespace), read from the caches. */
export interface LiveIdentityObjects {
  readonly bindings: readonly AzureIdentityBinding[];
  readonly identities: readonly AzureIdentity[];
  /**
   * When present, exactly `indexBindingsBySelector(bindings)` (build both with `indexLiveIdentityObjects`):
   * the bindings selecting a pod are then one lookup instead of a scan. Never changes an answer.
   */
  readonly bindingsBySelector?: BindingsBySelector;
  /** When present, exactly `indexIdentities(identities)`: saves indexing every identity per decision. */
  readonly identityIndex?: IdentityIndex;
}

/** Why an AAI aimed at a pod is not backed by the live objects. */
export type UnbackedReason =
  /** No live binding selects the pod's `aadpodidbinding` label (or the pod has none). */
  | "noBindingSelectsPod"
  /** The AzureIdentity the AAI names does not exist (any more). */
  | "identityNotFound"
  /** Namespaced matching (`--forceNamespaced` or the Behavior annotation) refuses pod, binding and identity. */
  | "namespaceMismatch"
  /** Bindings select the pod, but none of them names the identity the AAI names (or it lost a name collision). */
  | "identityNotBound";

/** An AAI that names an identity the pod is not entitled to. */
export interface UnbackedAssignment {
  readonly reason: UnbackedReason;
  readonly aai: AzureAssignedIdentity;
}

/**
 * The assignment core's matching (`matchAssignments`, the rules MIC plans by, here for one pod: `matchPodAssignments`) produces for `pod` and the
 * identity `aai` names — same identity namespace and name — or why there is none. The result carries the
 * LIVE identity and binding: a grant uses them, never the copies embedded in the AAI, so an AAI whose
 * embedded client id, resource id or type was edited cannot steer the token request.
 *
 * Only bindings selecting the pod are handed to matching (the others cannot produce an assignment for it),
 * so the cost is one pass over the bindings plus matching one pod.
 */
export function backAssignedIdentity(
  aai: AzureAssignedIdentity,
  pod: PodView,
  live: LiveIdentityObjects,
  options: MatchingOptions,
): Result<DesiredAssignment, UnbackedAssignment> {
  const bindings = bindingsSelecting(pod, live);
  if (bindings.length === 0) return { ok: false, error: { reason: "noBindingSelectsPod", aai } };
  const named = aai.spec.azureIdentityRef.metadata;
  const { assignments, skipped } = matchPodAssignments(pod, bindings, live.identityIndex ?? indexIdentities(live.identities), options);
  const assignment = assignments.find(
    (a) => a.pod === pod && a.identity.metadata.namespace === named.namespace && a.identity.metadata.name === named.name,
  );
  if (assignment !== undefined) return { ok: true, value: assignment };
  const exists =
    live.identityIndex?.has(namespacedKey(named.namespace, named.name)) ??
    live.identities.some((i) => i.metadata.namespace === named.namespace && i.metadata.name === named.name);
  if (!exists) return { ok: false, error: { reason: "identityNotFound", aai } };
  const refused = skipped.some(
    (s) => s.reason === "namespaceMismatch" && s.identity.metadata.namespace === named.namespace && s.identity.metadata.name === named.name,
  );
  return { ok: false, error: { reason: refused ? "namespaceMismatch" : "identityNotBound", aai } };
}

const NO_BINDINGS: readonly AzureIdentityBinding[] = [];

/**
 * The live bindings selecting `pod` (`bindingMatchesPod`). From the selector index when there is one: it holds
 * exactly the bindings with a non-empty selector, grouped by it, and matching orders bindings itself, so the
 * group's order does not matter.
 */
function bindingsSelecting(pod: PodView, live: LiveIdentityObjects): readonly AzureIdentityBinding[] {
  if (live.bindingsBySelector === undefined) return live.bindings.filter((binding) => bindingMatchesPod(binding, pod));
  const label = podBindingLabel(pod);
  return label === "" ? NO_BINDINGS : (live.bindingsBySelector.get(label) ?? NO_BINDINGS);
}
