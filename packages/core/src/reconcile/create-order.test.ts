import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildScaleCluster, FakeCluster, FakeCompute, seedScaleCluster } from "@podid/testkit";
import { computeTargetKey } from "../azure-ids/compute-target.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import type { AzureAssignedIdentity } from "../model/types.js";
import type { ComputePort } from "../ports/compute.port.js";
import type { AssignedIdentityWriterPort } from "../ports/kube-writer.port.js";
import { managedIdentityKey } from "./assignment-comparison.js";
import { orderCreates } from "./create-order.js";
import { PlanExecution } from "./execute-plan.js";
import { planReconcile, type ReconcilePlan } from "./plan.js";
import { EMPTY_QUARANTINE, IdentityQuarantine } from "./quarantine.js";

const nameOf = (aai: AzureAssignedIdentity) => `${aai.metadata.namespace}/${aai.metadata.name}`;
const idOf = (aai: AzureAssignedIdentity) => managedIdentityKey(aai.spec.azureIdentityRef) ?? "";

/** A cluster of `shape`; the first `existing` pods already have their objects (status `Created`), then every pod is planned. */
async function plannedCluster(shape: { pods: number; nodes: number; nodesPerScaleSet: number; identities: number }, existing: number) {
  const base = buildScaleCluster({ ...shape, namespaces: 3 });
  const cluster = new FakeCluster();
  const compute = new FakeCompute();
  const targets = seedScaleCluster(base, cluster, compute);
  const plan = (): ReconcilePlan => {
    const desired = matchAssignments(
      { pods: cluster.list("pods"), bindings: cluster.list("azureidentitybindings"), identities: cluster.list("azureidentities") },
      { forceNamespaced: false },
    ).assignments;
    return planReconcile({ desired, current: cluster.list("azureassignedidentities"), nodes: cluster.list("nodes"), policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 });
  };
  for (const pod of base.pods.slice(0, existing)) cluster.apply("pods", pod);
  for (const aai of plan().creates) await cluster.create(aai);
  for (const pod of base.pods.slice(existing)) cluster.apply("pods", pod);
  return { cluster, compute, plan: plan() };
}

/** (target, identity) pairs a plan attaches that no object outside `plan.creates` names yet: each needs one create before its PATCH. */
function pairsNeedingACreate(plan: ReconcilePlan): { pairs: Set<string>; targetOf: Map<string, string>; createsPerTarget: Map<string, number> } {
  const creates = new Set(plan.creates.map(nameOf));
  const covered = new Set<string>();
  const pairs = new Set<string>();
  const targetOf = new Map<string, string>();
  const createsPerTarget = new Map<string, number>();
  for (const target of plan.targets) {
    for (const aai of target.attach) if (!creates.has(nameOf(aai))) covered.add(`${target.key}|${idOf(aai)}`);
    for (const aai of target.attach) {
      if (!creates.has(nameOf(aai))) continue;
      targetOf.set(nameOf(aai), target.key);
      createsPerTarget.set(target.key, (createsPerTarget.get(target.key) ?? 0) + 1);
      const pair = `${target.key}|${idOf(aai)}`;
      if (!covered.has(pair)) pairs.add(pair);
    }
  }
  return { pairs, targetOf, createsPerTarget };
}

const shapeArb = fc.record({
  pods: fc.integer({ min: 0, max: 60 }),
  nodes: fc.integer({ min: 1, max: 9 }),
  nodesPerScaleSet: fc.constantFrom(0, 1, 2, 4),
  identities: fc.integer({ min: 1, max: 8 }),
});

describe("orderCreates", () => {
  it("is a permutation of the plan's creates that starts with exactly one create per (target, identity) still to cover, smallest target first (property)", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.nat(), async (shape, existingSeed) => {
        const { plan } = await plannedCluster(shape, existingSeed % (shape.pods + 1));
        const ordered = orderCreates(plan);
        expect(ordered.map(nameOf).sort()).toEqual(plan.creates.map(nameOf).sort());
        const { pairs, targetOf, createsPerTarget } = pairsNeedingACreate(plan);
        const prefix = ordered.slice(0, pairs.size);
        const prefixPairs = prefix.map((aai) => `${targetOf.get(nameOf(aai)) ?? "none"}|${idOf(aai)}`);
        expect(new Set(prefixPairs)).toEqual(pairs);
        expect(prefixPairs).toHaveLength(pairs.size);
        const sizes = prefix.map((aai) => createsPerTarget.get(targetOf.get(nameOf(aai)) ?? "") ?? 0);
        expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
      }),
      { numRuns: 60 },
    );
  });
});

describe("PlanExecution pipelining", () => {
  it("starts a target's PATCH before every create is done, and only with identities a stored object on that target names (property)", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb.filter((s) => s.pods > 0), fc.integer({ min: 1, max: 5 }), async (shape, writeConcurrency) => {
        const { cluster, compute, plan } = await plannedCluster(shape, 0);
        // Creates complete one macrotask apart, so targets run while creates are still going.
        const writer: AssignedIdentityWriterPort = {
          create: async (aai) => {
            await new Promise((resolve) => setTimeout(resolve, 0));
            return cluster.create(aai);
          },
          update: (aai) => cluster.update(aai),
          setStatus: (aai, status) => cluster.setStatus(aai, status),
          delete: (aai) => cluster.delete(aai),
        };
        const unsafe: string[] = [];
        let createsAtFirstPatch: number | undefined;
        const recording: ComputePort = {
          getIdentities: (target) => compute.getIdentities(target),
          patchIdentities: (target, patch, ifMatch) => {
            const stored = cluster.list("azureassignedidentities");
            createsAtFirstPatch ??= stored.length;
            const key = computeTargetKey(target);
            const named = new Set(stored.filter((aai) => plan.targets.find((t) => t.key === key)?.attach.some((a) => nameOf(a) === nameOf(aai))).map(idOf));
            for (const [id, value] of Object.entries(patch.identity.userAssignedIdentities ?? {})) {
              if (value !== null && !named.has(id.toLowerCase()) && plan.targets.some((t) => t.key === key && t.intent.add.includes(id.toLowerCase()))) unsafe.push(`${key}: ${id}`);
            }
            return compute.patchIdentities(target, patch, ifMatch);
          },
        };
        const execution = new PlanExecution({ writer, compute: recording }, { now: () => 0, writeConcurrency }, new IdentityQuarantine());
        await execution.writesBeforeCreates(plan);
        const creating = execution.createAndConfirm(plan);
        await Promise.all([creating, ...plan.targets.map((t) => execution.target(t))]);
        expect(unsafe).toEqual([]);
        expect(execution.writeFailures).toEqual([]);
        // Every desired object ends Assigned, as with the unpipelined order.
        expect(cluster.list("azureassignedidentities").filter((a) => a.status !== "Assigned").map(nameOf)).toEqual([]);
        const { pairs } = pairsNeedingACreate(plan);
        if (plan.targets.length > 0 && pairs.size < plan.creates.length) expect(createsAtFirstPatch).toBeLessThan(plan.creates.length);
      }),
      { numRuns: 40 },
    );
  });
});
