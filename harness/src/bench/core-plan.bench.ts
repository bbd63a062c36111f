/**
 * `npm run bench:core`: how long @podid/core takes to plan a large cluster — what MIC does on every planning
 * pass (it plans whole passes, batched by `--batch-window`). 10,000 pods / 500 nodes in scale sets of 50 / 200
 * identities; medians of several runs; the same work done the original's way in the same process as the
 * baseline. Ends with one JSON line.
 */
import { performance } from "node:perf_hooks";
import {
  buildAssignedIdentity,
  EMPTY_QUARANTINE,
  matchAssignments,
  planReconcile,
} from "@podid/core";
import { buildScaleCluster } from "@podid/testkit";
import { originalStyleCycle } from "./original-cycle-baseline.js";

const FULL_RUNS = 9;
const options = { forceNamespaced: false };
const policy = { immutableIdentities: [], quarantine: EMPTY_QUARANTINE };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

const cluster = buildScaleCluster({ pods: 10_000, nodes: 500, nodesPerScaleSet: 50, identities: 200, namespaces: 100 });
console.log(`cluster: ${cluster.pods.length} pods, ${cluster.nodes.length} nodes (scale sets of 50), ${cluster.identities.length} identities`);

// Full plan from scratch: match every pod and plan 10,000 creates.
const fullPlan = () => planReconcile({ desired: matchAssignments(cluster, options).assignments, current: [], nodes: cluster.nodes, policy, nowMs: 0 });
for (let i = 0; i < 2; i++) fullPlan();
const coldPlan = fullPlan();
const fullTimes = Array.from({ length: FULL_RUNS }, () => time(fullPlan));
console.log(`full plan (cold, ${coldPlan.creates.length} creates, ${coldPlan.targets.length} scale sets): median ${fmt(median(fullTimes))}`);

// Full plan in steady state: everything already Assigned, nothing to do. Deep copies, as objects parsed
// from the API server would be, so no comparison short-circuits on shared references.
const assigned = structuredClone(matchAssignments(cluster, options).assignments.map((d) => buildAssignedIdentity(d, "Assigned")));
const steadyPlan = () => planReconcile({ desired: matchAssignments(cluster, options).assignments, current: assigned, nodes: cluster.nodes, policy, nowMs: 0 });
steadyPlan();
const steadyTimes = Array.from({ length: FULL_RUNS }, () => time(steadyPlan));
console.log(`full plan (steady, ${steadyPlan().targets.length} targets to touch): median ${fmt(median(steadyTimes))}`);

// Baseline: the original's full cycle, which it ran for every event.
originalStyleCycle(cluster, []);
const baselineTimes = Array.from({ length: 5 }, () => time(() => originalStyleCycle(cluster, [])));
const baselineMs = median(baselineTimes);
console.log(`baseline (original-style full cycle, run per event): median ${fmt(baselineMs)}`);

const fullPlanMs = median(fullTimes);
const result = {
  bench: "core",
  pods: cluster.pods.length,
  nodes: cluster.nodes.length,
  identities: cluster.identities.length,
  fullPlanMs: Number(fullPlanMs.toFixed(3)),
  steadyFullPlanMs: Number(median(steadyTimes).toFixed(3)),
  baselineCycleMs: Number(baselineMs.toFixed(3)),
  fullPlanRatioVsBaseline: Number((baselineMs / fullPlanMs).toFixed(2)),
  targets: { fullPlanMs: 100 },
  met: fullPlanMs < 100,
};
console.log(JSON.stringify(result));
