/**
 * `podid plan`: what MIC would do with a set of manifests, computed offline with the very rules the
 * controller runs (`matchAssignments` → `recoverLeavingCreated` → `planReconcile` → `planIdentityPatches`,
 * in `MicController`'s order), so the preview cannot drift from the behaviour.
 * @packageDocumentation
 */
import {
  computeTargetId,
  EMPTY_QUARANTINE,
  identityKey,
  immutableIdentitySet,
  isImmutableIdentity,
  lifecycleStateOf,
  managedIdentityKey,
  matchAssignments,
  planIdentityPatches,
  planReconcile,
  quarantineIdentities,
  recoverLeavingCreated,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type ComputeIdentityState,
  type ComputeTarget,
  type IdentityPatch,
  type MatchSkip,
  type PodView,
} from "@podid/core";
import { formatLocation } from "../manifests/load-manifests.js";
import type { InvalidObject, ManifestObjects } from "../manifests/manifest-objects.js";

/** Settings of a plan; the MIC flags that change its decisions. */
export interface OfflinePlanOptions {
  /** `--forceNamespaced`. */
  readonly forceNamespaced: boolean;
  /** `--immutable-user-msis`: client ids or resource ids never detached. */
  readonly immutableIdentities: readonly string[];
  /** The cluster identity (azure.json `userAssignedIdentityID`), implicitly immutable. */
  readonly clusterIdentity?: string;
  /** Identity resource ids to treat as refused by ARM (quarantined): held back from every PATCH. */
  readonly quarantined: readonly string[];
  /** Pods without `spec.nodeName` are planned as if scheduled on this node. */
  readonly assumeNode?: string;
  /** Clock for quarantine periods. */
  readonly nowMs: number;
}

/** What happens to one AzureAssignedIdentity. */
export type AssignedIdentityAction =
  /** New object `Created`, then `Assigned` once its identity is on the VM/VMSS. */
  | "create"
  /** Existing object rewritten in place (descriptive fields changed); status kept. */
  | "update"
  /** Existing `Created` object attached by this plan's PATCH, then `Assigned`. */
  | "attach"
  /** Existing `Created` object marked `Assigned` without a PATCH (already attached, or a service principal). */
  | "confirm"
  /** `Assigned` object whose identity is missing on its VM/VMSS: re-attached (drift repair). */
  | "repair"
  /** Object deleted (after a detach PATCH, or without an ARM call). */
  | "delete"
  /** Object (kept or new) whose identity is quarantined: stays `Created`, left out of PATCHes. */
  | "hold"
  /** Existing object replaced: deleted first, created again by a later pass. */
  | "recreate"
  /** Leaving `Created` object whose VM/VMSS must be read before deciding (give its identities to plan it). */
  | "wait";

/** One line of the plan's object part. */
export interface PlannedAssignedIdentity {
  readonly action: AssignedIdentityAction;
  readonly namespace: string;
  readonly name: string;
  readonly pod: string;
  readonly node: string;
  readonly identity: string;
  readonly binding: string;
  /** Status after the plan ran (`deleted` when the object goes). */
  readonly resultingStatus: "Created" | "Assigned" | "deleted";
  /** Why, in a few words. */
  readonly detail: string;
}

/** The ARM side of one VM or scale set. */
export interface PlannedTarget {
  readonly kind: ComputeTarget["kind"];
  readonly name: string;
  readonly resourceGroup: string;
  readonly subscriptionId: string;
  /** ARM id of the VM/VMSS (the PATCH URL path). */
  readonly id: string;
  /** Where the current identity block came from: a manifest position, or `assumed empty`. */
  readonly currentFrom: string;
  readonly current: ComputeIdentityState;
  /** Canonical identity keys MIC wants attached / detached. */
  readonly add: readonly string[];
  readonly remove: readonly string[];
  /** The exact PATCH bodies, in order (≤150 identities each); empty when nothing needs to change. */
  readonly patches: readonly IdentityPatch[];
  /** The identity block after every PATCH succeeded. */
  readonly resulting: ComputeIdentityState;
  /** Set when no PATCH may be sent (the VM/VMSS is being deleted). */
  readonly blockedBy?: "deleting";
}

/** A desired (pod, identity) pair matching produced no object for, with the reason in words. */
export interface PlanSkip {
  readonly reason: MatchSkip["reason"];
  readonly pod: string;
  readonly binding?: string;
  readonly identity?: string;
  readonly message: string;
}

/** The whole plan (also the `-o json` document). */
export interface OfflinePlan {
  readonly assignedIdentities: readonly PlannedAssignedIdentity[];
  readonly targets: readonly PlannedTarget[];
  /** VMs/VMSS given in the manifests that this plan leaves unchanged. */
  readonly unchangedTargets: readonly { readonly kind: ComputeTarget["kind"]; readonly name: string; readonly id: string }[];
  readonly skipped: readonly PlanSkip[];
  /** Quarantined identities (canonical keys) the plan holds back. */
  readonly quarantined: readonly string[];
  readonly unresolvedNodes: readonly { readonly node: string; readonly message: string }[];
  readonly invalid: readonly InvalidObject[];
  readonly notes: readonly string[];
  /** Counts for the summary line. */
  readonly summary: {
    readonly create: number;
    readonly update: number;
    readonly delete: number;
    readonly patches: number;
    readonly invalid: number;
    readonly quarantined: number;
  };
}

const EMPTY_BLOCK: ComputeIdentityState = { type: "None", userAssignedIdentityIds: [] };

const ref = (meta: { readonly namespace: string; readonly name: string }): string => `${meta.namespace}/${meta.name}`;

function describeSkip(skip: MatchSkip, invalidByKey: ReadonlyMap<string, InvalidObject>): PlanSkip {
  const pod = ref(skip.pod.metadata);
  switch (skip.reason) {
    case "podNotScheduled":
      return { reason: skip.reason, pod, message: `pod ${pod} is not scheduled (no spec.nodeName): MIC assigns nothing until it is; set spec.nodeName or pass --assume-node <node>` };
    case "podTerminated":
      return { reason: skip.reason, pod, message: `pod ${pod} has terminated (phase ${skip.pod.phase}): it gets no identity` };
    case "identityNotFound": {
      const binding = ref(skip.binding.metadata);
      const identity = `${skip.binding.metadata.namespace}/${skip.binding.spec.azureIdentity}`;
      const invalid = invalidByKey.get(identity);
      const message =
        invalid === undefined
          ? `binding ${binding} names AzureIdentity ${skip.binding.spec.azureIdentity}, which does not exist in namespace ${skip.binding.metadata.namespace}`
          : `binding ${binding} names AzureIdentity ${identity}, which is invalid (${formatLocation(invalid.at)})`;
      return { reason: skip.reason, pod, binding, identity, message: `pod ${pod}: ${message}` };
    }
    case "namespaceMismatch": {
      const binding = ref(skip.binding.metadata);
      const identity = ref(skip.identity.metadata);
      return {
        reason: skip.reason,
        pod,
        binding,
        identity,
        message: `pod ${pod}: identity ${identity} is namespaced; pod, binding ${binding} and identity must share one namespace`,
      };
    }
    case "nameCollision":
      return {
        reason: skip.reason,
        pod,
        binding: ref(skip.dropped.binding.metadata),
        identity: ref(skip.dropped.identity.metadata),
        message: `pod ${pod}: identity ${ref(skip.dropped.identity.metadata)} would get the same AzureAssignedIdentity name ${skip.dropped.name} as ${ref(skip.kept.identity.metadata)}; the first is kept`,
      };
  }
}

function row(aai: AzureAssignedIdentity, action: AssignedIdentityAction, resultingStatus: PlannedAssignedIdentity["resultingStatus"], detail: string): PlannedAssignedIdentity {
  return {
    action,
    namespace: aai.metadata.namespace,
    name: aai.metadata.name,
    pod: `${aai.spec.podNamespace}/${aai.spec.pod}`,
    node: aai.spec.nodeName,
    identity: ref(aai.spec.azureIdentityRef.metadata),
    binding: ref(aai.spec.azureBindingRef.metadata),
    resultingStatus,
    detail,
  };
}

function targetLabel(target: ComputeTarget): string {
  return `${target.kind === "vm" ? "VM" : "VMSS"} ${target.name}`;
}

/**
 * Computes the plan. Pods without `spec.nodeName` get `options.assumeNode` when given. Identities named in
 * `options.quarantined` are quarantined as MIC would after ARM refused them. The current identity block of a
 * VM/VMSS comes from its manifest document, or is assumed empty (`type: None`, no identities).
 */
export function buildOfflinePlan(objects: ManifestObjects, options: OfflinePlanOptions): OfflinePlan {
  const pods: PodView[] = objects.pods.map(({ value }) =>
    value.nodeName === "" && options.assumeNode !== undefined && options.assumeNode !== "" ? { ...value, nodeName: options.assumeNode } : value,
  );
  const identities: AzureIdentity[] = objects.identities.map((i) => i.value);
  const nodes = objects.nodes.map((n) => n.value);
  const match = matchAssignments({ pods, bindings: objects.bindings.map((b) => b.value), identities }, { forceNamespaced: options.forceNamespaced });
  const desired = match.assignments;

  const observed = new Map<string, ComputeIdentityState>(objects.compute.map((c) => [c.value.key, c.value.state]));
  const computeAt = new Map(objects.compute.map((c) => [c.value.key, formatLocation(c.at)]));
  const quarantineKeys = options.quarantined.map((id) => identityKey(id) ?? id.trim().toLowerCase()).filter((k) => k !== "");
  const quarantine = quarantineIdentities(EMPTY_QUARANTINE, quarantineKeys, "forbidden", "given with --quarantined", options.nowMs);

  const recovery = recoverLeavingCreated({ desired, current: objects.assignedIdentities.map((a) => a.value), nodes, observed });
  const plan = planReconcile({
    desired,
    current: recovery.current,
    nodes,
    observed,
    policy: {
      immutableIdentities: options.immutableIdentities,
      ...(options.clusterIdentity === undefined ? {} : { clusterIdentity: options.clusterIdentity }),
      quarantine,
    },
    nowMs: options.nowMs,
  });

  const immutable = immutableIdentitySet(options.immutableIdentities, options.clusterIdentity);
  const rows: PlannedAssignedIdentity[] = [];
  const created = new Set(plan.creates.map((aai) => ref(aai.metadata)));
  const confirmed = new Set(plan.confirms.map((aai) => ref(aai.metadata)));
  const held = new Map(plan.held.map((h) => [ref(h.assignment.metadata), h]));
  const attachedBy = new Map<string, ComputeTarget>();
  for (const target of plan.targets) for (const aai of target.attach) attachedBy.set(ref(aai.metadata), target.target);

  for (const aai of plan.creates) {
    const key = ref(aai.metadata);
    const attachTarget = attachedBy.get(key);
    if (held.has(key)) rows.push(row(aai, "hold", "Created", `identity quarantined: created, left out of every PATCH until ARM accepts it`));
    else if (attachTarget !== undefined) rows.push(row(aai, "create", "Assigned", `attached to ${targetLabel(attachTarget)}`));
    else if (confirmed.has(key)) {
      rows.push(row(aai, "create", "Assigned", managedIdentityKey(aai.spec.azureIdentityRef) === undefined ? "service principal: nothing to attach" : "already attached: no PATCH"));
    } else rows.push(row(aai, "create", "Created", "no VM/VMSS work planned"));
  }
  const storedNode = new Map(objects.assignedIdentities.map(({ value }) => [ref(value.metadata), value.spec.nodeName]));
  for (const aai of plan.updates) {
    const from = storedNode.get(ref(aai.metadata));
    const why =
      from !== undefined && from !== aai.spec.nodeName
        ? `pod now on node ${aai.spec.nodeName}, same VM/VMSS as ${from}: moved in place, nothing to attach or detach`
        : "descriptive fields changed: rewritten in place";
    rows.push(row(aai, "update", lifecycleStateOf(aai.status) === "Created" ? "Created" : "Assigned", why));
  }
  for (const aai of plan.confirms) {
    if (created.has(ref(aai.metadata))) continue;
    rows.push(row(aai, "confirm", "Assigned", managedIdentityKey(aai.spec.azureIdentityRef) === undefined ? "service principal: nothing to attach" : "already attached: no PATCH"));
  }
  for (const target of plan.targets) {
    for (const aai of target.attach) if (!created.has(ref(aai.metadata))) rows.push(row(aai, "attach", "Assigned", `attached to ${targetLabel(target.target)}`));
    for (const aai of target.repair) rows.push(row(aai, "repair", "Assigned", `missing on ${targetLabel(target.target)}: re-attached (back to Created if ARM refuses it)`));
    for (const aai of target.detach) rows.push(row(aai, "delete", "deleted", `detached from ${targetLabel(target.target)}`));
  }
  for (const h of plan.held) if (!created.has(ref(h.assignment.metadata))) rows.push(row(h.assignment, "hold", "Created", "identity quarantined: left out of every PATCH until ARM accepts it"));
  for (const aai of plan.releases) {
    const identity = aai.spec.azureIdentityRef;
    const why =
      lifecycleStateOf(aai.status) !== "Assigned"
        ? "never attached: no ARM call"
        : managedIdentityKey(identity) === undefined
          ? "service principal: no ARM call"
          : isImmutableIdentity(identity, immutable)
            ? "immutable identity: stays attached"
            : "identity still used on the VM/VMSS: stays attached";
    rows.push(row(aai, "delete", "deleted", why));
  }
  for (const aai of plan.orphans) rows.push(row(aai, "delete", "deleted", `node ${aai.spec.nodeName} is gone: no ARM call`));
  for (const assignment of plan.deferred) {
    rows.push({
      action: "recreate",
      namespace: assignment.namespace,
      name: assignment.name,
      pod: ref(assignment.pod.metadata),
      node: assignment.nodeName,
      identity: ref(assignment.identity.metadata),
      binding: ref(assignment.binding.metadata),
      resultingStatus: "Assigned",
      detail: "the existing object goes first; a later pass creates it again",
    });
  }
  for (const waiting of recovery.waiting) {
    rows.push(row(waiting.object, "wait", "Created", `leaving while Created: give the identities of its VM/VMSS (${waiting.reason === "notObserved" ? "not given" : "an operation is running"}) to plan it`));
  }
  rows.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.action, b.action));

  const targets: PlannedTarget[] = plan.targets.map((target) => {
    const current = observed.get(target.key) ?? EMPTY_BLOCK;
    const patchPlan = planIdentityPatches(current, target.intent);
    return {
      kind: target.target.kind,
      name: target.target.name,
      resourceGroup: target.target.resourceGroup,
      subscriptionId: target.target.subscriptionId,
      id: computeTargetId(target.target),
      currentFrom: computeAt.get(target.key) ?? "assumed empty: no identities given",
      current,
      add: target.intent.add,
      remove: target.intent.remove,
      patches: patchPlan.patches,
      resulting: patchPlan.resulting,
      ...(patchPlan.blockedBy === undefined ? {} : { blockedBy: patchPlan.blockedBy }),
    };
  });
  const planned = new Set(plan.targets.map((t) => t.key));
  const unchangedTargets = objects.compute
    .filter((c) => !planned.has(c.value.key))
    .map((c) => ({ kind: c.value.target.kind, name: c.value.target.name, id: computeTargetId(c.value.target) }));

  const invalidIdentities = new Map(objects.invalid.filter((i) => i.objectKind === "AzureIdentity").map((i) => [`${i.namespace}/${i.name}`, i]));
  const quarantined = [...new Set(plan.held.map((h) => h.identityKey))].sort();
  return {
    assignedIdentities: rows,
    targets,
    unchangedTargets,
    skipped: match.skipped.map((skip) => describeSkip(skip, invalidIdentities)),
    quarantined,
    unresolvedNodes: plan.unresolvedNodes.map((u) => ({
      node: u.nodeName,
      message: u.reason === "nodeNotFound" ? `node ${u.nodeName} is not in the manifests: add a Node with spec.providerID to plan its pods` : `node ${u.nodeName}: ${u.message}`,
    })),
    invalid: objects.invalid,
    notes: objects.notes,
    summary: {
      create: rows.filter((r) => r.action === "create" || (r.action === "hold" && created.has(`${r.namespace}/${r.name}`))).length,
      update: rows.filter((r) => r.action === "update").length,
      delete: rows.filter((r) => r.action === "delete").length,
      patches: targets.reduce((n, t) => n + t.patches.length, 0),
      invalid: objects.invalid.length,
      quarantined: quarantined.length,
    },
  };
}

/** True when the plan must fail a CI gate (exit code 2): invalid objects or quarantined identities. */
export function planHasFindings(plan: OfflinePlan): boolean {
  return plan.invalid.length > 0 || plan.quarantined.length > 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
