/**
 * `npm run sim:scale`: the real MIC controller against the fake API server and fake ARM on a virtual clock.
 * Bursts model what the real process meets (`bench:mic-real`): the kube client's token bucket at MIC's
 * default `--clientQps` shared by AzureAssignedIdentity writes and the Events MIC's own recorder decides to
 * write (client-go's aggregation and spam budget; Events only take tokens no AAI write waits for, from a
 * bounded queue), `--createDeleteBatch` writes in flight, and the bench's
 * scale-set PATCH latency, one operation at a time per VMSS. Scenarios: the
 * original's load test (2,000 pods, 30 nodes, 100 namespaces each with an identity and binding), 10,000
 * pods / 500 nodes / 200 identities, and the #988 shape (47 identities, ~150 pods, 24 h steady state, 40 s
 * PATCHes). The bursts' pods arrive as fast as they did in the real-process run they are compared with (its
 * measured creation curve), and each burst is printed next to that run's figures with the deviation.
 * `--real <file>` takes the runs from a `bench:mic-real` result file (it writes one after every run) instead
 * of the figures stored in `real-process-figures.ts`. One JSON line each.
 */
import { readFileSync } from "node:fs";
import { cpuUsage, memoryUsage } from "node:process";
import { parseArgs } from "node:util";
import type { ScaleClusterOptions } from "@podid/testkit";
import { micDefaultClientLimits, SCENARIOS, VMSS_PATCH_LATENCY_MS, type MicRealResult } from "../bench/mic-real.bench.js";
import { arrivalOffsetsMs, scheduleArrivals } from "./burst-arrivals.js";
import { REAL_PROCESS_FIGURES, type RealProcessFigures } from "./real-process-figures.js";
import { buildScaleWorld, type ScaleWorld, type ScaleWorldModel } from "./scale-world.js";

const limits = micDefaultClientLimits();
/** The real process's limits: what the burst scenarios simulate. */
const REAL_PROCESS: ScaleWorldModel = {
  vmssPatchMs: VMSS_PATCH_LATENCY_MS,
  kube: { qps: limits.clientQps, maxConcurrentWrites: limits.createDeleteBatch },
};

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

/** "25 % by 1.2 s, 50 % by …": the creation curve the burst replays (one point: steady creation over that time). */
function curveSummary(curveS: readonly number[]): string {
  if (curveS.length === 1) return `steady, all by ${String(curveS[0])} s`;
  return [0.25, 0.5, 0.75, 1]
    .map((share) => `${share * 100} % by ${String(curveS[Math.max(0, Math.ceil(share * curveS.length) - 1)])} s`)
    .join(", ");
}

/**
 * One burst: the pods arrive in the cluster's order along `curveS` (the real run's creation curve; see
 * `burst-arrivals.ts`) while the controller runs.
 */
async function burst(name: string, shape: ScaleClusterOptions, curveS: readonly number[]): Promise<Record<string, unknown>> {
  const cpuStart = cpuUsage();
  peakRss = 0;
  const world = buildScaleWorld(shape, {}, REAL_PROCESS);
  world.controller.start();
  const t0 = world.clock.now();
  scheduleArrivals(world.clock, world.cluster0.pods, arrivalOffsetsMs(world.cluster0.pods.length, curveS), (pod) => world.cluster.apply("pods", pod));
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
    burstCurveS: curveS,
    allAssigned: world.assignedAt.size === expected,
    firstAssignedS: Math.min(...latencies),
    allAssignedS: Math.max(...latencies),
    allAssignedP50VirtualS: percentile(latencies, 50),
    allAssignedP99VirtualS: percentile(latencies, 99),
    allAssignedMaxVirtualS: Math.max(...latencies),
    patchLatencyS: VMSS_PATCH_LATENCY_MS / 1000,
    clientQps: limits.clientQps,
    armPatches: counts.patches,
    armGets: counts.gets,
    maxPatchesPerScaleSet: Math.max(...perTarget),
    kubeWrites: world.kube?.requests ?? writes.creates + writes.updates + writes.statusUpdates + writes.deletes,
    aaiWrites: writes.creates + writes.updates + writes.statusUpdates + writes.deletes,
    eventWrites: world.events?.sent() ?? 0,
    eventsDropped: world.events?.stats().dropped ?? 0,
    planningPasses: world.controller.stats.cycles,
    cpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
  };
  console.log(
    `${name}: ${result.pods} pods on ${result.nodes} nodes, created in order along the real run's curve (${curveSummary(curveS)}) → all Assigned ${result.allAssigned}; first ${result.firstAssignedS} s, p50 ${result.allAssignedP50VirtualS} s, ` +
      `p99 ${result.allAssignedP99VirtualS} s, max ${result.allAssignedMaxVirtualS} s (virtual; PATCH = ${result.patchLatencyS} s, QPS ${result.clientQps}); ` +
      `ARM ${result.armPatches} PATCH / ${result.armGets} GET (max ${result.maxPatchesPerScaleSet} PATCH per scale set); ` +
      `${result.kubeWrites} kube writes (${result.aaiWrites} AAI, ${result.eventWrites} Event; ${result.eventsDropped} Events dropped); ${result.cpuS} s CPU; peak RSS ${result.peakRssMb} MB`,
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

/** The real-process runs to replay and compare with: `--real <file>` (a `bench:mic-real` result file) or the stored ones. */
function realProcessRuns(argv: readonly string[]): RealProcessFigures {
  const { values } = parseArgs({ args: [...argv], options: { real: { type: "string" } } });
  if (values.real === undefined) return REAL_PROCESS_FIGURES;
  let file: { scenarios?: MicRealResult[] };
  try {
    file = JSON.parse(readFileSync(values.real, "utf8")) as { scenarios?: MicRealResult[] };
  } catch (error) {
    throw new Error(`--real ${values.real}: not a readable bench:mic-real result (${error instanceof Error ? error.message : String(error)})`);
  }
  const find = (scenario: "2k" | "10k"): MicRealResult => {
    const run = file.scenarios?.find((r) => r.scenario === scenario);
    if (run === undefined) throw new Error(`--real ${values.real} holds no ${scenario} run: \`npm run bench:mic-real -- --scenario ${scenario}\` writes one`);
    return run;
  };
  return { source: values.real, command: "npm run bench:mic-real", measured: "see the file", runs: { "2k": find("2k"), "10k": find("10k") } };
}

/** The creation curve to replay: the run's, or (older result files) steady creation over its `burstS`. */
function creationCurve(run: MicRealResult): readonly number[] {
  return run.burstCurveS !== undefined && run.burstCurveS.length > 0 ? run.burstCurveS : [run.burstS];
}

/** Kube writes of the real run that the simulation models: AAI writes and Events (its leader-election Lease renewals are not simulated). */
function modelledKubeWrites(run: MicRealResult): number {
  return run.kubeWrites - (run.kubeWritesByResource["leases"] ?? 0);
}

/**
 * A simulated burst next to the real-process run of the same shape (`2k` or `10k`): first and all Assigned,
 * kube writes and ARM PATCHes, each with its deviation (the simulation should agree within 25 %).
 */
function compareWithRealProcess(scenario: "2k" | "10k", sim: Record<string, unknown>, real: MicRealResult, source: string): Record<string, unknown> {
  const rows = [
    ["firstAssignedS", "first Assigned (s)", sim["firstAssignedS"], real.firstAssignedS],
    ["allAssignedS", "all Assigned (s)", sim["allAssignedS"], real.allAssignedS],
    ["kubeWrites", "kube writes (AAIs + Events)", sim["kubeWrites"], modelledKubeWrites(real)],
    ["armPatches", "ARM PATCHes", sim["armPatches"], real.armPatches],
  ] as const;
  const info = [
    ["AAI writes", sim["aaiWrites"], real.kubeWritesByResource["azureassignedidentities"]],
    ["Event writes", sim["eventWrites"], real.kubeWritesByResource["events"]],
    ["Events dropped (queue full)", sim["eventsDropped"], real.eventsDropped],
    ["max PATCHes per scale set", sim["maxPatchesPerScaleSet"], undefined],
  ] as const;
  const comparison: Record<string, unknown> = { scenario: `sim-vs-real-${scenario}`, real: source, clientQps: real.clientQps, patchLatencyS: real.patchLatencyS, burstS: real.burstS };
  console.log(`\nsim:scale vs bench:mic-real (${source}), ${real.pods} pods created over ${real.burstS} s in both (QPS ${real.clientQps}, PATCH ${real.patchLatencyS} s):`);
  console.log("| figure | simulated | real process | deviation |\n|---|---|---|---|");
  let within = true;
  for (const [key, figure, simulated, measured] of rows) {
    const deviation = typeof simulated === "number" && typeof measured === "number" && measured !== 0 ? (simulated - measured) / measured : Number.NaN;
    if (!(Math.abs(deviation) <= 0.25)) within = false;
    comparison[key] = { simulated, real: measured, deviationPct: Math.round(deviation * 100) };
    console.log(`| ${figure} | ${String(simulated)} | ${String(measured)} | ${Number.isNaN(deviation) ? "n/a" : `${Math.round(deviation * 100)} %${Math.abs(deviation) > 0.25 ? " (beyond 25 %)" : ""}`} |`);
  }
  for (const [figure, simulated, measured] of info) console.log(`| ${figure} | ${String(simulated)} | ${measured === undefined ? "—" : String(measured)} | |`);
  comparison["within25Pct"] = within;
  return comparison;
}

async function main(argv: readonly string[]): Promise<void> {
  const real = realProcessRuns(argv);
  console.log(`real-process figures: ${real.source} (\`${real.command}\`, ${real.measured})`);
  const loadTest = await burst("load-test-2000", SCENARIOS["2k"], creationCurve(real.runs["2k"]));
  const scale10k = await burst("scale-10k", SCENARIOS["10k"], creationCurve(real.runs["10k"]));
  const results = [
    loadTest,
    scale10k,
    await steadyDay("issue-988-vmss", { pods: 150, nodes: 10, nodesPerScaleSet: 5, identities: 47, namespaces: 10 }, 62_230),
    await steadyDay("issue-988-availability-set", { pods: 150, nodes: 10, nodesPerScaleSet: 0, identities: 47, namespaces: 10 }, 62_230),
  ];
  const comparisons = [compareWithRealProcess("2k", loadTest, real.runs["2k"], real.source), compareWithRealProcess("10k", scale10k, real.runs["10k"], real.source)];
  for (const result of [...results, ...comparisons]) console.log(JSON.stringify(result));
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 2;
}
