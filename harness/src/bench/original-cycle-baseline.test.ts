import { buildAssignedIdentity, EMPTY_QUARANTINE, matchAssignments, planReconcile } from "@podid/core";
import { buildScaleCluster } from "@podid/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { originalStyleCycle } from "./original-cycle-baseline.js";

const options = { forceNamespaced: false };
const policy = { immutableIdentities: [], quarantine: EMPTY_QUARANTINE };

/**
 * bench:core's ratios mean something only if its baseline does the same work as podid's planner for the same
 * inputs. These checks pin that: same creates from scratch, nothing in steady state, and — the original's
 * in-use check — the same detaches when pods go away while others on the same scale set keep the identity.
 */
describe("original-style cycle baseline", () => {
  const cluster = buildScaleCluster({ pods: 60, nodes: 6, nodesPerScaleSet: 3, identities: 5, namespaces: 2 });
  const assigned = matchAssignments(cluster, options).assignments.map((d) => buildAssignedIdentity(d, "Assigned"));
  const podid = (pods: typeof cluster.pods, current: typeof assigned) =>
    planReconcile({ desired: matchAssignments({ ...cluster, pods }, options).assignments, current, nodes: cluster.nodes, policy, nowMs: 0 });

  it("creates what podid creates from scratch and finds nothing to do in steady state", () => {
    const cold = originalStyleCycle(cluster, []);
    const plan = podid(cluster.pods, []);
    expect(cold.creates).toBe(plan.creates.length);
    expect(cold.add).toBe(plan.targets.reduce((n, t) => n + t.intent.add.length, 0));
    expect(originalStyleCycle(cluster, assigned)).toStrictEqual({ add: 0, remove: 0, creates: 0, updates: 0, deletes: 0 });
  });

  it("detaches exactly what podid detaches when any set of pods goes away (the in-use check)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: cluster.pods.length - 1 }), { maxLength: cluster.pods.length }), (gone) => {
        const removed = new Set(gone);
        const pods = cluster.pods.filter((_, i) => !removed.has(i));
        const baseline = originalStyleCycle({ ...cluster, pods }, assigned);
        const plan = podid(pods, assigned);
        expect(baseline.remove).toBe(plan.targets.reduce((n, t) => n + t.intent.remove.length, 0));
        expect(baseline.deletes).toBe(plan.releases.length + plan.targets.reduce((n, t) => n + t.detach.length, 0));
      }),
      { numRuns: 200 },
    );
  });
});
