/**
 * The figures of one `bench:nmi` run and how a round's one-second slices of one variant add up to one run.
 * @packageDocumentation
 */
import { addHistograms, HISTOGRAM_BASE, percentileMs } from "./latency-histogram.js";

/** One measured run of one server (a one-second slice, or a variant's slices of a round merged). */
export interface Run {
  /** Which server: `bare`, `shipped`, `decided`, `bareDefaults` or `candidate`. */
  readonly variant: string;
  readonly requests: number;
  readonly rps: number;
  /** Server CPU microseconds per request. */
  readonly cpuUsPerRequest: number;
  /** The user-mode part of that CPU time (the rest is the kernel: sockets, writes). */
  readonly userShare: number;
  /** Server CPU time ÷ wall time of the run (1 = one whole CPU). */
  readonly cpuShare: number;
  /** Busy share of CPU 0 over the run spent outside the server process (other load, softirq). */
  readonly otherOnServerCpu: number;
  /** Busy share of CPU 1 (wrk, the fakes, this process and whatever else runs there): near 1, wrk may have waited for the CPU, which lengthens latencies. */
  readonly generatorCpuBusy: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * Each one-second slice's own p99, in order: a stall of the server or the machine shows as one slice far above
   * the others, where the merged p99 cannot tell it from a server slow throughout.
   */
  readonly sliceP99Ms: readonly number[];
  /**
   * Each slice's own server CPU per request, in the same order: the same server doing the same work reads the same
   * in every slice, so a slice far above its neighbours is a stretch where the machine ran the server slower (a
   * vCPU slowed from outside is charged to whatever ran on it), which raises that slice's latencies too.
   */
  readonly sliceCpuUsPerRequest: readonly number[];
  readonly errors: number;
  /** TCP segments the namespace retransmitted during the run, and retransmission timeouts among them (a lost segment costs ≥ 200 ms). */
  readonly retransmits: number;
  readonly rtoTimeouts: number;
  /** Latencies by logarithmic bucket (`latency-histogram.ts`, base {@link HISTOGRAM_BASE}), to merge slices. */
  readonly latencyBuckets: ReadonlyMap<number, number>;
  /** Server CPU seconds and wrk's load duration in seconds (to merge slices). */
  readonly cpuS: number;
  readonly loadS: number;
}

/**
 * One run from a variant's interleaved slices: requests, CPU and wall time summed (so CPU per request is the
 * total CPU over the total requests, and the shares are time-weighted); p50 and p99 of all the slices'
 * latencies together (their histograms added).
 */
export function mergeSlices(slices: readonly Run[]): Run {
  const first = slices[0];
  if (first === undefined) throw new Error("no slices to merge");
  const sum = (pick: (r: Run) => number) => slices.reduce((n, r) => n + pick(r), 0);
  const requests = sum((r) => r.requests);
  const cpuS = sum((r) => r.cpuS);
  const loadS = sum((r) => r.loadS);
  const weighted = (pick: (r: Run) => number) => sum((r) => pick(r) * r.loadS) / Math.max(loadS, 1e-9);
  const latencyBuckets = addHistograms(slices.map((r) => r.latencyBuckets));
  return {
    variant: first.variant,
    requests,
    rps: requests / Math.max(loadS, 1e-9),
    cpuUsPerRequest: (cpuS * 1e6) / Math.max(1, requests),
    userShare: cpuS > 0 ? sum((r) => r.userShare * r.cpuS) / cpuS : 0,
    cpuShare: cpuS / Math.max(loadS, 1e-9),
    otherOnServerCpu: weighted((r) => r.otherOnServerCpu),
    generatorCpuBusy: weighted((r) => r.generatorCpuBusy),
    p50Ms: percentileMs(latencyBuckets, 0.5),
    p99Ms: percentileMs(latencyBuckets, 0.99),
    sliceP99Ms: slices.flatMap((r) => r.sliceP99Ms),
    sliceCpuUsPerRequest: slices.flatMap((r) => r.sliceCpuUsPerRequest),
    errors: sum((r) => r.errors),
    retransmits: sum((r) => r.retransmits),
    rtoTimeouts: sum((r) => r.rtoTimeouts),
    latencyBuckets,
    cpuS,
    loadS,
  };
}

/**
 * Per round, `variant`'s figure (`pick`) over `baseline`'s in the same round: runs are listed round by round, and
 * a ratio within a round compares servers measured in the same stretch of the machine's drift.
 */
export function ratiosTo(runs: readonly Run[], variant: string, baseline: string, pick: (run: Run) => number): number[] {
  const ofVariant = runs.filter((r) => r.variant === variant);
  const ofBaseline = runs.filter((r) => r.variant === baseline);
  if (ofVariant.length !== ofBaseline.length) throw new Error(`ratiosTo: ${String(ofVariant.length)} runs of ${variant} but ${String(ofBaseline.length)} of ${baseline}`);
  return ofVariant.map((r, i) => pick(r) / pick(ofBaseline[i] as Run));
}
