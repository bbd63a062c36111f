/**
 * `npm run sim:scale`: the real MIC controller against the fake API server and fake ARM on a virtual clock
 * (ARM PATCH 40 s per VMSS operation, one at a time per VMSS). Scenarios: the original's load test
 * (2,000 pods, 30 nodes, 100 namespaces each with an identity and binding), 10,000 pods / 500 nodes /
 * 200 identities, and the #988 shape (47 identities, ~150 pods, 24 h steady state). One JSON line each.
 */
import { cpuUsage, memoryUsage } from "node:process";
import type { ScaleClusterOptions } from "@podid/testkit";
import { buildScaleWorld, SIM_VMSS_PATCH_MS, type ScaleWorld } from "./scale-world.js";

const MAX_VIRTUAL_MS = 2 * 3600_000;
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, memoryUsage.rss()));

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function advanceUntil(world: ScaleWorld, done: () => boolean, maxMs: number, stepMs: number): Promise<void> {
  const start = world.clock.now();
  while (!done() && world.clock.now() - start < maxMs) {
    await world.clock.advanceAsync(stepMs);
    sampleRss();
  }
}

async function burst(name: string, shape: ScaleClusterOptions): Promise<Record<string, unknown>> {
  const cpuStart = cpuUsage();
  peakRss = 0;
  const world = buildScaleWorld(shape);
  world.controller.start();
  const t0 = world.clock.now();
  for (const pod of world.cluster0.pods) world.cluster.apply("pods", pod);
  const expected = world.cluster0.pods.length; // one identity per pod in these shapes
  await advanceUntil(world, () => world.assignedAt.size >= expected, MAX_VIRTUAL_MS, 1_000);
  const latencies = [...world.assignedAt.values()].map((t) => (t - t0) / 1000);
  const counts = world.compute.counts();
  const writes = world.cluster.writeCounts();
  const perTarget = world.targets.map((t) => world.compute.countsFor(t).patches);
  world.controller.stop();
  const cpu = cpuUsage(cpuStart);
  const result = {
    scenario: name,
    pods: world.cluster0.pods.length,
    nodes: world.cluster0.nodes.length,
    scaleSets: world.targets.filter((t) => t.kind === "vmss").length,
    identities: world.cluster0.identities.length,
    allAssigned: world.assignedAt.size === expected,
    allAssignedP50VirtualS: percentile(latencies, 50),
    allAssignedP99VirtualS: percentile(latencies, 99),
    allAssignedMaxVirtualS: Math.max(...latencies),
    patchLatencyS: SIM_VMSS_PATCH_MS / 1000,
    armPatches: counts.patches,
    armGets: counts.gets,
    maxPatchesPerScaleSet: Math.max(...perTarget),
    kubeWrites: writes.creates + writes.updates + writes.statusUpdates + writes.deletes,
    planningPasses: world.controller.stats.cycles,
    cpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
  };
  console.log(
    `${name}: ${result.pods} pods on ${result.nodes} nodes → all Assigned ${result.allAssigned}; p50 ${result.allAssignedP50VirtualS} s, ` +
      `p99 ${result.allAssignedP99VirtualS} s, max ${result.allAssignedMaxVirtualS} s (virtual; PATCH = ${result.patchLatencyS} s); ` +
      `ARM ${result.armPatches} PATCH / ${result.armGets} GET (max ${result.maxPatchesPerScaleSet} PATCH per scale set); ` +
      `${result.kubeWrites} kube writes; ${result.cpuS} s CPU; peak RSS ${result.peakRssMb} MB`,
  );
  return result;
}

/** 24 h of steady state after the initial assignment, with the original's 10-minute informer resyncs. */
async function steadyDay(name: string, shape: ScaleClusterOptions, baselineCallsPerDay: number): Promise<Record<string, unknown>> {
  const world = buildScaleWorld(shape);
  world.controller.start();
  for (const pod of world.cluster0.pods) world.cluster.apply("pods", pod);
  await advanceUntil(world, () => world.assignedAt.size >= world.cluster0.pods.length, MAX_VIRTUAL_MS, 1_000);
  const before = world.compute.counts();
  const day = 24 * 3600_000;
  const start = world.clock.now();
  // Resync-style updates of every identity and binding every 10 minutes (what drove the original's cycles).
  while (world.clock.now() - start < day) {
    for (const identity of world.cluster0.identities) world.cluster.apply("azureidentities", identity);
    for (const binding of world.cluster0.bindings) world.cluster.apply("azureidentitybindings", binding);
    await world.clock.advanceAsync(10 * 60_000);
  }
  const after = world.compute.counts();
  world.controller.stop();
  const calls = after.gets + after.patches - before.gets - before.patches;
  const result = {
    scenario: name,
    pods: world.cluster0.pods.length,
    nodes: world.cluster0.nodes.length,
    identities: world.cluster0.identities.length,
    armCallsPerDay: calls,
    armGetsPerDay: after.gets - before.gets,
    armPatchesPerDay: after.patches - before.patches,
    baselineCallsPerDay,
    reductionFactor: Number((baselineCallsPerDay / Math.max(1, calls)).toFixed(1)),
  };
  console.log(`${name}: ${calls} ARM calls in 24 h (original, #988: ${baselineCallsPerDay}) → ${result.reductionFactor}× fewer`);
  return result;
}

const results = [
  await burst("load-test-2000", { pods: 2000, nodes: 30, nodesPerScaleSet: 30, identities: 100, namespaces: 100 }),
  await burst("scale-10k", { pods: 10_000, nodes: 500, nodesPerScaleSet: 50, identities: 200, namespaces: 100 }),
  await steadyDay("issue-988-vmss", { pods: 150, nodes: 10, nodesPerScaleSet: 5, identities: 47, namespaces: 10 }, 62_230),
  await steadyDay("issue-988-availability-set", { pods: 150, nodes: 10, nodesPerScaleSet: 0, identities: 47, namespaces: 10 }, 62_230),
];
for (const result of results) console.log(JSON.stringify(result));
