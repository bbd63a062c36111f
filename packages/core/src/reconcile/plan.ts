import type { ComputeIdentityState, ComputeTarget } from "../azure-ids/types.js";
import type { DesiredAssignment } from "../matching/types.js";
import type { AzureAssignedIdentity, AzureIdentity, NodeView } from "../model/types.js";
import { lifecycleStateOf } from "../lifecycle/assigned-identity-lifecycle.js";
import { buildAssignedIdentity } from "./assigned-identity-builder.js";
import { serviceAccountSubject } from "../federated/service-account-subject.js";
import { isServiceAccountTrusted, podServiceAccountName } from "../federated/service-account-trust.js";
import { compareAssignment, federatedIdentityKey, managedIdentityKey } from "./assignment-comparison.js";
import { immutableIdentitySet, isImmutableIdentity } from "./immutable-identities.js";
import type { IdentityIntent } from "./identity-delta.js";
import { nodeResolver, onSameTarget, type UnresolvedNode } from "./node-targets.js";
import { isQuarantined, type QuarantineState } from "./quarantine.js";

/** Configuration and remembered state the planner needs besides cluster objects. */
export interface ReconcilePolicy {
  /** `--immutable-user-msis`: client ids or resource ids never detached. */
  readonly immutableIdentities: readonly string[];
  /** The cluster identity (azure.json `userAssignedIdentityID`), implicitly immutable. */
  readonly clusterIdentity?: string;
  /** Identities ARM refused; left out of PATCHes until their quarantine ends. */
  readonly quarantine: QuarantineState;
}

/** Everything one planning pass looks at. */
export interface ReconcileInput {
  /** What matching wants (see `matchAssignments`). */
  readonly desired: readonly DesiredAssignment[];
  /** The AzureAssignedIdentities stored in the cluster. */
  readonly current: readonly AzureAssignedIdentity[];
  readonly nodes: readonly NodeView[];
  /**
   * Identity blocks read from ARM, by compute target key. Optional: with them the plan also confirms
   * `Created` objects whose identity is already attached (crash recovery) and re-attaches identities removed
   * out of band (drift repair); without them it plans from the objects alone.
   */
  readonly observed?: ReadonlyMap<string, ComputeIdentityState>;
  readonly policy: ReconcilePolicy;
  readonly nowMs: number;
}

/** The work on one VM or scale set. */
export interface TargetPlan {
  readonly target: ComputeTarget;
  /** Canonical key of the target (see `computeTargetKey`). */
  readonly key: string;
  /** Identity keys to attach and detach. */
  readonly intent: IdentityIntent;
  /** Objects (as stored after this plan's writes, status `Created`) to mark `Assigned` once their identity is attached. */
  readonly attach: readonly AzureAssignedIdentity[];
  /** `Assigned` objects whose identity is being detached; deleted once it is gone. */
  readonly detach: readonly AzureAssignedIdentity[];
  /** `Assigned` objects whose identity was removed out of band and is re-attached (no status change). */
  readonly repair: readonly AzureAssignedIdentity[];
}

/** A desired assignment whose identity is quarantined: its object exists but no PATCH carries it. */
export interface HeldAssignment {
  readonly assignment: AzureAssignedIdentity;
  readonly identityKey: string;
  readonly untilMs: number;
}

/**
 * The federated credentials one type-3 identity needs (docs/adr/0021-federated-identities.md): nothing is attached
 * to a VM; MIC ensures one credential per subject and confirms the waiting objects once theirs exists.
 */
export interface FederatedIdentityPlan {
  /** Canonical key of the identity's resource id (see `identityKey`). */
  readonly key: string;
  /** The identity's resource id as written in the AzureIdentity. */
  readonly resourceId: string;
  /** Service-account subjects the identity's Created/Assigned objects need after this plan, sorted; may be empty. */
  readonly subjects: readonly string[];
  /** `Created` objects (as stored after this plan's writes) to mark `Assigned` once their subject's credential exists. */
  readonly awaiting: readonly FederatedAwaiting[];
}

/** A `Created` object of a federated identity and the subject its credential must trust. */
export interface FederatedAwaiting {
  readonly assignment: AzureAssignedIdentity;
  readonly subject: string;
}

/** What to do to converge: object writes, per-target ARM work, and what was held back. */
export interface ReconcilePlan {
  /** New objects to create with status `Created` (before any PATCH that attaches their identity). */
  readonly creates: readonly AzureAssignedIdentity[];
  /** Objects rewritten in place (descriptive fields changed; status kept). */
  readonly updates: readonly AzureAssignedIdentity[];
  /** `Created` objects to mark `Assigned` without a PATCH (already attached, or service principals). */
  readonly confirms: readonly AzureAssignedIdentity[];
  /** Objects to delete without a detach: never attached, in use elsewhere, immutable, not type 0 (type 3 included). */
  readonly releases: readonly AzureAssignedIdentity[];
  /** Objects on nodes that no longer exist: deleted without any ARM call. */
  readonly orphans: readonly AzureAssignedIdentity[];
  /** Per VM/VMSS work, sorted by key; only targets with something to do. */
  readonly targets: readonly TargetPlan[];
  readonly held: readonly HeldAssignment[];
  /** Desired assignments whose object must first finish going (replacement); created by a later pass. */
  readonly deferred: readonly DesiredAssignment[];
  readonly unresolvedNodes: readonly UnresolvedNode[];
  /**
   * Federated (type 3) identities to keep credentials for, sorted by key: every one some desired object uses, and
   * every one an object being removed used (its unneeded credentials go). Never part of a VM/VMSS PATCH.
   */
  readonly federated: readonly FederatedIdentityPlan[];
  /** Type-3 pairs the identity does not trust (pod's service account not listed, or another namespace): no object. */
  readonly untrusted: readonly DesiredAssignment[];
}

/** True when a plan has nothing left to do (held assignments wait for their quarantine and do not count). */
export function isEmptyPlan(plan: ReconcilePlan): boolean {
  return (
    plan.creates.length === 0 &&
    plan.updates.length === 0 &&
    plan.confirms.length === 0 &&
    plan.releases.length === 0 &&
    plan.orphans.length === 0 &&
    plan.targets.length === 0 &&
    plan.deferred.length === 0 &&
    plan.federated.every((entry) => entry.awaiting.length === 0)
  );
}

interface TargetWork {
  readonly target: ComputeTarget;
  readonly key: string;
  readonly add: Set<string>;
  readonly remove: Set<string>;
  readonly attach: AzureAssignedIdentity[];
  readonly detach: AzureAssignedIdentity[];
  readonly repair: AzureAssignedIdentity[];
}

const objectKey = (namespace: string, name: string): string => `${namespace}/${name}`;
/** Orders objects by (namespace, name) without building key strings per comparison. */
const byObjectKey = (a: { metadata: { namespace: string; name: string } }, b: { metadata: { namespace: string; name: string } }) =>
  compareStrings(a.metadata.namespace, b.metadata.namespace) || compareStrings(a.metadata.name, b.metadata.name);

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Diffs desired assignments against stored AzureAssignedIdentities and turns the difference into
 * object writes and per-VM/VMSS identity intents (mirrors the original's `Sync` steps 4–8 in
 * docs/compatibility.md#reconcile-cycle-steps).
 *
 * Guarantees (property-tested): an identity is only ever detached from a target when an `Assigned` object
 * of ours put it there, no other desired assignment on the same VM — or any instance of the same scale
 * set — uses it, and it is neither immutable nor the cluster identity; identities nobody's object names are
 * never touched; `Created` objects are retried; quarantined identities are held back without blocking
 * others; the output is deterministic.
 */
export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const { policy, nowMs, observed } = input;
  const immutable = immutableIdentitySet(policy.immutableIdentities, policy.clusterIdentity);
  const resolver = nodeResolver(input.nodes);
  const unresolved = new Map<string, UnresolvedNode>();
  const targets = new Map<string, TargetWork>();

  const resolve = (nodeName: string): { target: ComputeTarget; key: string } | undefined => {
    const result = resolver(nodeName);
    if ("reason" in result) {
      unresolved.set(nodeName, result);
      return undefined;
    }
    return result;
  };
  const work = (placement: { target: ComputeTarget; key: string }): TargetWork => {
    let entry = targets.get(placement.key);
    if (entry === undefined) {
      entry = { ...placement, add: new Set(), remove: new Set(), attach: [], detach: [], repair: [] };
      targets.set(placement.key, entry);
    }
    return entry;
  };
  const isAttached = (targetKey: string, identity: string): boolean | undefined => {
    const state = observed?.get(targetKey);
    return state?.userAssignedIdentityIds.some((id) => id.toLowerCase() === identity);
  };

  // Which identity keys each target keeps because an object stored after this pass names them: the "in
  // use" index. Deferred assignments do not count: no object of theirs is written in this pass, and if
  // they vanish before the next one, an identity kept for them would be attached with nothing naming it.
  const inUse = new Map<string, Set<string>>();
  const markInUse = (placement: { key: string }, identity: AzureIdentity): void => {
    const key = managedIdentityKey(identity);
    if (key === undefined) return;
    let keys = inUse.get(placement.key);
    if (keys === undefined) inUse.set(placement.key, (keys = new Set()));
    keys.add(key);
  };

  const currentByName = new Map(input.current.map((aai) => [objectKey(aai.metadata.namespace, aai.metadata.name), aai]));
  const desiredNames = new Set<string>();
  const creates: AzureAssignedIdentity[] = [];
  const updates: AzureAssignedIdentity[] = [];
  const confirms: AzureAssignedIdentity[] = [];
  const releases: AzureAssignedIdentity[] = [];
  const orphans: AzureAssignedIdentity[] = [];
  const held: HeldAssignment[] = [];
  const untrusted: DesiredAssignment[] = [];
  const federated = new Map<string, { resourceId: string; subjects: Set<string>; awaiting: FederatedAwaiting[] }>();
  const federatedEntry = (key: string, identity: AzureIdentity) => {
    let entry = federated.get(key);
    if (entry === undefined) federated.set(key, (entry = { resourceId: identity.spec.resourceID, subjects: new Set(), awaiting: [] }));
    return entry;
  };
  // A type-3 object stored after this pass: its credential is needed, and a `Created` one waits for it.
  const ensureFederated = (stored: AzureAssignedIdentity, key: string, assignment: DesiredAssignment): void => {
    const entry = federatedEntry(key, stored.spec.azureIdentityRef);
    const subject = serviceAccountSubject(assignment.pod.metadata.namespace, podServiceAccountName(assignment.pod));
    entry.subjects.add(subject);
    if (lifecycleStateOf(stored.status) === "Created") entry.awaiting.push({ assignment: stored, subject });
  };
  const deferred: DesiredAssignment[] = [];
  const leaving: AzureAssignedIdentity[] = [];

  // A stored object that should exist and may still need its identity attached.
  const ensureAttached = (stored: AzureAssignedIdentity, placement: { target: ComputeTarget; key: string }): void => {
    const identity = stored.spec.azureIdentityRef;
    const key = managedIdentityKey(identity);
    const state = lifecycleStateOf(stored.status);
    if (key === undefined) {
      // Service principals live in AAD, not on VMs: nothing to attach.
      if (state === "Created") confirms.push(stored);
      return;
    }
    if (state === "Assigned") {
      if (isAttached(placement.key, key) === false) {
        const entry = work(placement);
        entry.add.add(key);
        entry.repair.push(stored);
      }
      return;
    }
    if (isAttached(placement.key, key) === true) {
      confirms.push(stored);
      return;
    }
    if (isQuarantined(policy.quarantine, key, nowMs)) {
      held.push({ assignment: stored, identityKey: key, untilMs: policy.quarantine.get(key)?.untilMs ?? nowMs });
      return;
    }
    const entry = work(placement);
    entry.add.add(key);
    entry.attach.push(stored);
  };

  for (const assignment of input.desired) {
    const fedKey = federatedIdentityKey(assignment.identity);
    if (assignment.identity.spec.type === 3 && !isServiceAccountTrusted(assignment.pod, assignment.identity)) {
      // Not desired at all: a stored object for it (the identity stopped listing the account) is removed.
      untrusted.push(assignment);
      continue;
    }
    const name = objectKey(assignment.namespace, assignment.name);
    desiredNames.add(name);
    // A federated identity lives on no VM: where the node is does not matter to it.
    const placement = fedKey === undefined ? resolve(assignment.nodeName) : undefined;
    const current = currentByName.get(name);
    if (current === undefined) {
      if (fedKey !== undefined) {
        const created = buildAssignedIdentity(assignment, "Created");
        creates.push(created);
        ensureFederated(created, fedKey, assignment);
        continue;
      }
      if (placement === undefined) continue;
      const created = buildAssignedIdentity(assignment, "Created");
      creates.push(created);
      markInUse(placement, assignment.identity);
      ensureAttached(created, placement);
      continue;
    }
    const state = lifecycleStateOf(current.status);
    const comparison = compareAssignment(current, assignment, (a, b) => onSameTarget(resolver, a, b));
    if (current.metadata.deletionTimestamp !== undefined || state === "Unassigned" || comparison === "replace") {
      leaving.push(current);
      deferred.push(assignment);
      continue;
    }
    if (placement === undefined && fedKey === undefined) continue;
    if (placement !== undefined) markInUse(placement, assignment.identity);
    let stored = current;
    if (comparison === "refresh") {
      const rebuilt = buildAssignedIdentity(assignment, current.status);
      stored = {
        ...rebuilt,
        metadata: {
          ...current.metadata,
          labels: { ...current.metadata.labels, ...rebuilt.metadata.labels },
          finalizers: current.metadata.finalizers,
        },
      };
      updates.push(stored);
    }
    if (fedKey !== undefined) ensureFederated(stored, fedKey, assignment);
    else if (placement !== undefined) ensureAttached(stored, placement);
  }

  for (const current of input.current) {
    if (!desiredNames.has(objectKey(current.metadata.namespace, current.metadata.name))) leaving.push(current);
  }

  const nodeNames = new Set(input.nodes.map((node) => node.metadata.name));
  for (const current of leaving) {
    // Its credential may no longer be needed: plan the identity so unneeded credentials of ours go.
    const leavingFedKey = federatedIdentityKey(current.spec.azureIdentityRef);
    if (leavingFedKey !== undefined) federatedEntry(leavingFedKey, current.spec.azureIdentityRef);
    const state = lifecycleStateOf(current.status);
    const key = managedIdentityKey(current.spec.azureIdentityRef);
    if (!nodeNames.has(current.spec.nodeName)) {
      orphans.push(current);
      continue;
    }
    const placement = resolve(current.spec.nodeName);
    if (
      state !== "Assigned" ||
      key === undefined ||
      placement === undefined ||
      isImmutableIdentity(current.spec.azureIdentityRef, immutable) ||
      inUse.get(placement.key)?.has(key) === true
    ) {
      releases.push(current);
      continue;
    }
    const entry = work(placement);
    entry.remove.add(key);
    entry.detach.push(current);
  }

  const targetPlans: TargetPlan[] = [...targets.values()]
    .map((entry) => {
      // An identity both added and removed stays (the original applies removals, then additions).
      const remove = [...entry.remove].filter((key) => !entry.add.has(key)).sort();
      return {
        target: entry.target,
        key: entry.key,
        intent: { add: [...entry.add].sort(), remove },
        attach: entry.attach.sort(byObjectKey),
        detach: entry.detach.sort(byObjectKey),
        repair: entry.repair.sort(byObjectKey),
      };
    })
    .filter((plan) => plan.intent.add.length + plan.intent.remove.length + plan.detach.length > 0)
    .sort((a, b) => compareStrings(a.key, b.key));

  return {
    creates: creates.sort(byObjectKey),
    updates: updates.sort(byObjectKey),
    confirms: confirms.sort(byObjectKey),
    releases: releases.sort(byObjectKey),
    orphans: orphans.sort(byObjectKey),
    targets: targetPlans,
    held: held.sort((a, b) => byObjectKey(a.assignment, b.assignment)),
    deferred: deferred.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name)),
    unresolvedNodes: [...unresolved.values()].sort((a, b) => compareStrings(a.nodeName, b.nodeName)),
    federated: [...federated]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([key, entry]) => ({
        key,
        resourceId: entry.resourceId,
        subjects: [...entry.subjects].sort(),
        awaiting: entry.awaiting.sort((a, b) => byObjectKey(a.assignment, b.assignment)),
      })),
    untrusted: untrusted.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name)),
  };
}
