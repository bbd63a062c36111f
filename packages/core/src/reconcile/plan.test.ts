import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildScaleCluster, clusterArb, type ClusterSnapshot } from "@podid/testkit";
import { computeTargetKey } from "../azure-ids/compute-target.js";
import { parseProviderId } from "../azure-ids/provider-id.js";
import { lifecycleStateOf } from "../lifecycle/assigned-identity-lifecycle.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import type { DesiredAssignment } from "../matching/types.js";
import { NODENAME_LABEL } from "../model/constants.js";
import type { AssignedIdentityWireStatus, AzureAssignedIdentity, NodeView, PodView } from "../model/types.js";
import { buildAssignedIdentity } from "./assigned-identity-builder.js";
import { managedIdentityKey } from "./assignment-comparison.js";
import { immutableIdentitySet, isImmutableIdentity } from "./immutable-identities.js";
import { planReconcile, type ReconcileInput } from "./plan.js";
import { EMPTY_QUARANTINE, quarantineIdentities } from "./quarantine.js";

const options = { forceNamespaced: false };
const desiredOf = (cluster: ClusterSnapshot, forceNamespaced = false) =>
  matchAssignments({ pods: cluster.pods, bindings: cluster.bindings, identities: cluster.identities }, { forceNamespaced }).assignments;

function targetKeyOf(nodes: readonly NodeView[], nodeName: string): string | undefined {
  const node = nodes.find((n) => n.metadata.name === nodeName);
  if (node === undefined) return undefined;
  const parsed = parseProviderId(node.providerID);
  return parsed.ok ? computeTargetKey(parsed.value.target) : undefined;
}

const statusArb = fc.constantFrom<AssignedIdentityWireStatus>("Created", "Assigned", "Assigned", "Unassigned", "");

/**
 * A cluster now, and the AzureAssignedIdentities left by an earlier state of it (some pods and bindings
 * since removed, pods possibly on other nodes), each in a random lifecycle state, some being deleted.
 */
const scenarioArb = clusterArb({ maxPods: 14, maxNodes: 8 }).chain((cluster) =>
  fc
    .record({
      earlierPods: fc.subarray([...cluster.pods]),
      earlierBindings: fc.subarray([...cluster.bindings]),
      moved: fc.array(fc.constantFrom(...cluster.nodes.map((n) => n.metadata.name), "gone-node"), { maxLength: 4 }),
      statuses: fc.array(statusArb, { minLength: 64, maxLength: 64 }),
      deleting: fc.array(fc.nat({ max: 4 }).map((n) => n === 0), { minLength: 64, maxLength: 64 }),
      immutable: fc.subarray(cluster.identities.map((i) => (i.spec.clientID.length % 2 === 0 ? i.spec.clientID.toUpperCase() : i.spec.resourceID))),
      quarantined: fc.subarray(cluster.identities.map((i) => i.spec.resourceID.toLowerCase())),
      currentForceNamespaced: fc.boolean(),
    })
    .map(({ earlierPods, earlierBindings, moved, statuses, deleting, immutable, quarantined, currentForceNamespaced }) => {
      const pods = earlierPods.map((pod, i) => (i < moved.length ? { ...pod, nodeName: moved[i] ?? pod.nodeName } : pod));
      const earlier = desiredOf({ ...cluster, pods, bindings: earlierBindings }, currentForceNamespaced);
      const current = earlier.map((d, i) => {
        const aai = buildAssignedIdentity(d, statuses[i % statuses.length] ?? "Assigned");
        // Some are being deleted (by hand, or a namespace going) while their pods may still want them.
        return deleting[i % deleting.length] === true ? { ...aai, metadata: { ...aai.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } } : aai;
      });
      const input: ReconcileInput = {
        desired: desiredOf(cluster),
        current,
        nodes: cluster.nodes,
        policy: {
          immutableIdentities: immutable,
          quarantine: quarantineIdentities(EMPTY_QUARANTINE, quarantined, "forbidden", "refused", 0),
        },
        nowMs: 1,
      };
      return { cluster, input };
    }),
);

describe("planReconcile", () => {
  it("only detaches identities an Assigned object of ours put there, that nothing else on the VM/VMSS uses, and that are not immutable", () => {
    fc.assert(
      fc.property(scenarioArb, ({ cluster, input }) => {
        const plan = planReconcile(input);
        const immutable = immutableIdentitySet(input.policy.immutableIdentities);
        // A deferred assignment (its old object must go first) does not keep an identity: see the next test.
        const deferred = new Set(plan.deferred);
        for (const target of plan.targets) {
          const desiredHere = new Set(
            input.desired
              .filter((d: DesiredAssignment) => !deferred.has(d) && targetKeyOf(cluster.nodes, d.nodeName) === target.key)
              .map((d) => managedIdentityKey(d.identity)),
          );
          for (const key of target.intent.remove) {
            const owners = target.detach.filter((aai) => managedIdentityKey(aai.spec.azureIdentityRef) === key);
            expect(owners.length).toBeGreaterThan(0);
            for (const owner of owners) {
              expect(input.current).toContain(owner);
              expect(lifecycleStateOf(owner.status)).toBe("Assigned");
              expect(isImmutableIdentity(owner.spec.azureIdentityRef, immutable)).toBe(false);
              expect(targetKeyOf(cluster.nodes, owner.spec.nodeName)).toBe(target.key);
            }
            expect(desiredHere.has(key)).toBe(false);
            expect(target.intent.add).not.toContain(key);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never attaches a quarantined identity, and accounts for every desired assignment", () => {
    fc.assert(
      fc.property(scenarioArb, ({ input }) => {
        const plan = planReconcile(input);
        const quarantined = new Set(input.policy.quarantine.keys());
        const attachedByPlan = new Set(plan.targets.flatMap((t) => t.intent.add));
        for (const key of attachedByPlan) expect(quarantined.has(key)).toBe(false);
        const name = (x: { namespace: string; name: string }) => `${x.namespace}/${x.name}`;
        const handled = new Set([
          ...plan.creates.map((a) => name(a.metadata)),
          ...plan.confirms.map((a) => name(a.metadata)),
          ...plan.held.map((h) => name(h.assignment.metadata)),
          ...plan.deferred.map(name),
          ...plan.targets.flatMap((t) => [...t.attach, ...t.repair].map((a) => name(a.metadata))),
        ]);
        const current = new Map(input.current.map((a) => [name(a.metadata), a]));
        const unresolved = new Set(plan.unresolvedNodes.map((u) => u.nodeName));
        for (const desired of input.desired) {
          const stored = current.get(name(desired));
          const settled = stored !== undefined && lifecycleStateOf(stored.status) === "Assigned";
          expect(handled.has(name(desired)) || settled || unresolved.has(desired.nodeName)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("releases an Assigned object without a detach only where an object kept or created in this pass names its identity", () => {
    fc.assert(
      fc.property(scenarioArb, ({ cluster, input }) => {
        const plan = planReconcile(input);
        const immutable = immutableIdentitySet(input.policy.immutableIdentities);
        const name = (x: { namespace: string; name: string }) => `${x.namespace}/${x.name}`;
        const deferred = new Set(plan.deferred.map(name));
        const namedAfter = new Set(
          input.desired
            .filter((d) => !deferred.has(name(d)))
            .map((d) => `${targetKeyOf(cluster.nodes, d.nodeName)}#${managedIdentityKey(d.identity)}`),
        );
        for (const released of plan.releases) {
          const key = managedIdentityKey(released.spec.azureIdentityRef);
          const target = targetKeyOf(cluster.nodes, released.spec.nodeName);
          if (lifecycleStateOf(released.status) !== "Assigned" || key === undefined || target === undefined) continue;
          if (isImmutableIdentity(released.spec.azureIdentityRef, immutable)) continue;
          expect(namedAfter.has(`${target}#${key}`)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("moves the object of a pod re-created on another node of the same VM/VMSS in place, keeping its status", () => {
    const cluster = buildScaleCluster({ pods: 1, nodes: 4, nodesPerScaleSet: 2, identities: 1, namespaces: 1 });
    const [pod] = cluster.pods as [PodView];
    const [first, sameScaleSet, otherScaleSet] = cluster.nodes.map((n) => n.metadata.name) as [string, string, string];
    const stored = buildAssignedIdentity(desiredOf({ ...cluster, exceptions: [], pods: [{ ...pod, nodeName: first }] })[0] as DesiredAssignment, "Assigned");
    const planFor = (nodeName: string) =>
      planReconcile({
        desired: desiredOf({ ...cluster, exceptions: [], pods: [{ ...pod, nodeName }] }),
        current: [stored],
        nodes: cluster.nodes,
        policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE },
        nowMs: 0,
      });

    const moved = planFor(sameScaleSet);
    expect(moved.updates.map((u) => [u.spec.nodeName, u.metadata.labels[NODENAME_LABEL], u.status])).toEqual([[sameScaleSet, sameScaleSet, "Assigned"]]);
    expect([moved.targets, moved.deferred, moved.releases, moved.creates]).toEqual([[], [], [], []]);

    // On another scale set the identity must leave the old one (nothing else uses it there) first.
    const away = planFor(otherScaleSet);
    expect(away.deferred.map((d) => d.nodeName)).toEqual([otherScaleSet]);
    expect(away.targets.map((t) => [t.key, t.intent.remove.length, t.detach.length])).toEqual([[targetKeyOf(cluster.nodes, first), 1, 1]]);
  });

  it("is deterministic: input order does not change the plan", () => {
    fc.assert(
      fc.property(
        scenarioArb.chain(({ input }) =>
          fc.record({
            input: fc.constant(input),
            desired: fc.shuffledSubarray([...input.desired], { minLength: input.desired.length }),
            current: fc.shuffledSubarray([...input.current], { minLength: input.current.length }),
            nodes: fc.shuffledSubarray([...input.nodes], { minLength: input.nodes.length }),
          }),
        ),
        ({ input, desired, current, nodes }) => {
          expect(planReconcile({ ...input, desired, current, nodes })).toEqual(planReconcile(input));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("keeps an identity shared by two pods on one scale set while either still runs (node_test in-use check)", () => {
    fc.assert(
      fc.property(clusterArb({ maxPods: 12, identityTypes: [0] }), (cluster) => {
        const desired = desiredOf(cluster);
        const current = desired.map((d) => buildAssignedIdentity(d, "Assigned"));
        // Remove every other pod; identities the remaining pods use on the same target must stay.
        const remaining = desired.filter((_, i) => i % 2 === 0);
        const plan = planReconcile({ desired: remaining, current, nodes: cluster.nodes, policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 });
        for (const target of plan.targets) {
          for (const key of target.intent.remove) {
            const stillUsed = remaining.some((d) => managedIdentityKey(d.identity) === key && targetKeyOf(cluster.nodes, d.nodeName) === target.key);
            expect(stillUsed).toBe(false);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("confirms Created objects whose identity ARM already shows (restart between PATCH and status write)", () => {
    fc.assert(
      fc.property(clusterArb({ maxPods: 8, identityTypes: [0] }), (cluster) => {
        const desired = desiredOf(cluster);
        const current = desired.map((d) => buildAssignedIdentity(d, "Created"));
        const observed = new Map<string, { type: "UserAssigned"; userAssignedIdentityIds: string[] }>();
        for (const d of desired) {
          const key = targetKeyOf(cluster.nodes, d.nodeName);
          if (key === undefined) continue;
          const entry = observed.get(key) ?? { type: "UserAssigned" as const, userAssignedIdentityIds: [] };
          entry.userAssignedIdentityIds.push(d.identity.spec.resourceID);
          observed.set(key, entry);
        }
        const plan = planReconcile({ desired, current, nodes: cluster.nodes, observed, policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 });
        expect(plan.targets).toEqual([]);
        expect(plan.confirms.length).toBe(current.filter((aai) => targetKeyOf(cluster.nodes, aai.spec.nodeName) !== undefined).length);
      }),
      { numRuns: 100 },
    );
  });

  it("re-attaches an identity removed out of band while its object is Assigned (drift repair)", () => {
    fc.assert(
      fc.property(clusterArb({ maxPods: 8, identityTypes: [0] }), (cluster) => {
        const desired = desiredOf(cluster);
        fc.pre(desired.length > 0);
        const current = desired.map((d) => buildAssignedIdentity(d, "Assigned"));
        const observed = new Map(
          cluster.nodes.flatMap((n) => {
            const key = targetKeyOf(cluster.nodes, n.metadata.name);
            return key === undefined ? [] : [[key, { type: "None" as const, userAssignedIdentityIds: [] }] as const];
          }),
        );
        const plan = planReconcile({ desired, current, nodes: cluster.nodes, observed, policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 });
        const repaired = new Set(plan.targets.flatMap((t) => t.repair.map((a) => a.metadata.name)));
        for (const aai of current) if (targetKeyOf(cluster.nodes, aai.spec.nodeName) !== undefined) expect(repaired.has(aai.metadata.name)).toBe(true);
        expect(plan.creates).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it("deletes objects of vanished nodes without ARM calls, and never touches identities no object names", () => {
    fc.assert(
      fc.property(scenarioArb, ({ input }) => {
        const plan = planReconcile(input);
        const nodeNames = new Set(input.nodes.map((n) => n.metadata.name));
        for (const orphan of plan.orphans) expect(nodeNames.has(orphan.spec.nodeName)).toBe(false);
        const named = new Set(
          [...input.current.map((a: AzureAssignedIdentity) => a.spec.azureIdentityRef), ...input.desired.map((d) => d.identity)].map(managedIdentityKey),
        );
        for (const target of plan.targets) for (const key of [...target.intent.add, ...target.intent.remove]) expect(named.has(key)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
void options;
