/**
 * `npm run bench:core`: how long @podid/core takes to plan a large cluster — what MIC does on every planning
 * pass (it plans whole passes, batched by `--batch-window`). 10,000 pods / 500 nodes in scale sets of 50 / 200
 * identities, medians of several runs. Every figure has a baseline computed from **the same inputs** in the
 * same process: the original's full cycle (./original-cycle-baseline.ts), which also gets the existing
 * AzureAssignedIdentities, so its diff and in-use check do their real work. Three scenarios:
 * - cold: no AzureAssignedIdentity exists yet (10,000 creates);
 * - steady: every assignment exists and is Assigned (nothing to do);
 * - churn: every assignment existed, then 10 % of the pods went away and 5 % moved to a node of another
 *   scale set (deletes with in-use checks, in-place updates, detaches).
 * Ends with one JSON line.
 */
import { performance } from "node:perf_hooks";
import {
  buildAssignedIdentity,
  EMPTY_QUARANTINE,
  matchAssignments,
  planReconcile,
  type AzureAssignedIdentity,
  type ReconcilePlan,
} from "@podid/core";
import { buildScaleCluster, type ScaleCluster } from "@podid/testkit";
import { originalStyleCycle, type OriginalCycleResult } from "./original-cycle-baseline.js";
import { median } from "./proc-stats.js";

const RUNS = 9;
const options = { forceNamespaced: false };
const policy = { immutableIdentities: [], quarantine: EMPTY_QUARANTINE };

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

const cluster = buildScaleCluster({ pods: 10_000, nodes: 500, nodesPerScaleSet: 50, identities: 200, namespaces: 100 });
console.log(`cluster: ${cluster.pods.length} pods, ${cluster.nodes.length} nodes (scale sets of 50), ${cluster.identities.length} identities`);

/** Every desired assignment as an existing Assigned object; deep copies, as objects parsed from the API server would be. */
const allAssigned: readonly AzureAssignedIdentity[] = structuredClone(
  matchAssignments(cluster, options).assignments.map((d) => buildAssignedIdentity(d, "Assigned")),
);

/** The cluster after churn: every 10th pod deleted, every 20th (of the rest) moved to a node 50 nodes on (another scale set). */
function churned(base: ScaleCluster): ScaleCluster {
  const pods = base.pods.flatMap((pod, i) => {
    if (i % 10 === 0) return [];
    if (i % 20 === 5) {
      const at = base.nodes.findIndex((n) => n.metadata.name === pod.nodeName);
      const moved = base.nodes[(at + 50) % base.nodes.length];
      return moved === undefined ? [pod] : [{ ...pod, nodeName: moved.metadata.name }];
    }
    return [pod];
  });
  return { ...base, pods };
}

interface Scenario {
  readonly name: string;
  readonly cluster: ScaleCluster;
  readonly current: readonly AzureAssignedIdentity[];
}
const scenarios: readonly Scenario[] = [
  { name: "cold", cluster, current: [] },
  { name: "steady", cluster, current: allAssigned },
  { name: "churn", cluster: churned(cluster), current: allAssigned },
];

const podidPlan = (s: Scenario): ReconcilePlan =>
  planReconcile({ desired: matchAssignments(s.cluster, options).assignments, current: s.current, nodes: s.cluster.nodes, policy, nowMs: 0 });

function podidWork(plan: ReconcilePlan): OriginalCycleResult {
  const detaching = plan.targets.reduce((n, t) => n + t.detach.length, 0);
  return {
    add: plan.targets.reduce((n, t) => n + t.intent.add.length, 0),
    remove: plan.targets.reduce((n, t) => n + t.intent.remove.length, 0),
    creates: plan.creates.length,
    updates: plan.updates.length,
    deletes: plan.releases.length + plan.orphans.length + detaching,
  };
}
const describe = (w: OriginalCycleResult) => `${w.creates} creates, ${w.updates} updates, ${w.deletes} deletes; ids +${w.add} −${w.remove}`;
// podid replaces a moved pod's object in two passes (delete now, create once the old one is gone), so the
// second pass's creates show as "deferred"; the original updates the object in place in one cycle.
const deferredNote = (plan: ReconcilePlan) => (plan.deferred.length > 0 ? `, ${plan.deferred.length} deferred to the next pass` : "");

const results: Record<string, { podidMs: number; baselineMs: number; speedup: number }> = {};
for (const scenario of scenarios) {
  for (let i = 0; i < 2; i++) {
    podidPlan(scenario);
    originalStyleCycle(scenario.cluster, scenario.current);
  }
  const podidTimes: number[] = [];
  const baselineTimes: number[] = [];
  // Alternate the two so drift in machine load hits both alike.
  for (let i = 0; i < RUNS; i++) {
    podidTimes.push(time(() => podidPlan(scenario)));
    baselineTimes.push(time(() => originalStyleCycle(scenario.cluster, scenario.current)));
  }
  const podidMs = median(podidTimes);
  const baselineMs = median(baselineTimes);
  results[scenario.name] = { podidMs: Number(podidMs.toFixed(3)), baselineMs: Number(baselineMs.toFixed(3)), speedup: Number((baselineMs / podidMs).toFixed(2)) };
  const plan = podidPlan(scenario);
  console.log(`${scenario.name.padEnd(6)} podid ${fmt(podidMs)} (${describe(podidWork(plan))}${deferredNote(plan)})`);
  console.log(`${"".padEnd(6)} baseline ${fmt(baselineMs)} (${describe(originalStyleCycle(scenario.cluster, scenario.current))})  → ${(baselineMs / podidMs).toFixed(2)}× `);
}

const fullPlanMs = results["cold"]?.podidMs ?? Number.NaN;
const result = {
  bench: "core",
  pods: cluster.pods.length,
  nodes: cluster.nodes.length,
  identities: cluster.identities.length,
  fullPlanMs,
  scenarios: results,
  targets: { fullPlanMs: 100 },
  met: fullPlanMs < 100,
};
console.log(JSON.stringify(result));
