import { describe, expect, it } from "vitest";
import { bucketOf } from "./latency-histogram.js";
import { mergeSlices, ratiosTo, type Run } from "./nmi-bench-runs.js";

/** A slice of `requests` requests over `loadS` seconds using `cpuS` of server CPU, every latency `latencyUs`. */
function slice(requests: number, cpuS: number, loadS: number, latencyUs: number, extra: Partial<Run> = {}): Run {
  return {
    variant: "shipped",
    requests,
    rps: requests / loadS,
    cpuUsPerRequest: (cpuS * 1e6) / requests,
    userShare: 0.5,
    cpuShare: cpuS / loadS,
    otherOnServerCpu: 0,
    generatorCpuBusy: 0.5,
    p50Ms: latencyUs / 1000,
    p99Ms: latencyUs / 1000,
    sliceP99Ms: [latencyUs / 1000],
    sliceCpuUsPerRequest: [(cpuS * 1e6) / requests],
    errors: 0,
    retransmits: 0,
    rtoTimeouts: 0,
    latencyBuckets: new Map([[bucketOf(latencyUs), requests]]),
    cpuS,
    loadS,
    ...extra,
  };
}

describe("mergeSlices", () => {
  it("takes CPU per request over all requests, not the mean of the slices' figures", () => {
    // 10,000 requests at 20 µs and 30,000 at 40 µs: 35 µs a request overall (the mean of the two would say 30).
    const merged = mergeSlices([slice(10_000, 0.2, 1, 2_000), slice(30_000, 1.2, 1, 3_000)]);
    expect(merged.requests).toBe(40_000);
    expect(merged.cpuUsPerRequest).toBeCloseTo(35, 6);
    expect(merged.rps).toBeCloseTo(20_000, 6);
    expect(merged.cpuShare).toBeCloseTo(0.7, 6);
  });

  it("keeps each slice's own p99, in slice order, beside the merged one", () => {
    // One slice stalled (every request 400 ms) among four at 2 ms: the merged p99 reads the stall, the slices say where.
    const merged = mergeSlices([slice(9_000, 0.2, 1, 2_000), slice(9_000, 0.2, 1, 2_000), slice(300, 0.01, 1, 400_000), slice(9_000, 0.2, 1, 2_000)]);
    expect(merged.sliceP99Ms).toEqual([2, 2, 400, 2]);
    expect(merged.p99Ms).toBeGreaterThan(300);
  });

  it("keeps each slice's own CPU per request, in slice order", () => {
    // The third slice ran the same server four times as dear a request: a slow stretch of the machine.
    const merged = mergeSlices([slice(10_000, 0.2, 1, 2_000), slice(10_000, 0.2, 1, 2_000), slice(2_500, 0.2, 1, 8_000), slice(10_000, 0.2, 1, 2_000)]);
    expect(merged.sliceCpuUsPerRequest.map((us) => Math.round(us))).toEqual([20, 20, 80, 20]);
  });

  it("reads p50 and p99 from all the slices' latencies together", () => {
    // 98 % of the requests at 2 ms and 2 % at 100 ms, in different slices: the round's p99 is 100 ms, its p50 2 ms.
    const merged = mergeSlices([slice(9_800, 0.2, 1, 2_000), slice(200, 0.01, 1, 100_000)]);
    expect(merged.p50Ms).toBeGreaterThanOrEqual(2);
    expect(merged.p50Ms).toBeLessThan(2.03);
    expect(merged.p99Ms).toBeGreaterThanOrEqual(100);
    expect(merged.p99Ms).toBeLessThan(101.1);
  });

  it("sums errors and retransmissions, weights the CPU shares by time, and refuses no slices", () => {
    const merged = mergeSlices([
      slice(1_000, 0.1, 1, 1_000, { errors: 1, retransmits: 2, otherOnServerCpu: 0.1, userShare: 0.4 }),
      slice(1_000, 0.3, 3, 1_000, { errors: 2, retransmits: 0, rtoTimeouts: 1, otherOnServerCpu: 0.3, userShare: 0.8 }),
    ]);
    expect([merged.errors, merged.retransmits, merged.rtoTimeouts]).toEqual([3, 2, 1]);
    expect(merged.otherOnServerCpu).toBeCloseTo(0.25, 6);
    expect(merged.userShare).toBeCloseTo(0.7, 6);
    expect(() => mergeSlices([])).toThrow(/no slices/);
  });
});

describe("ratiosTo", () => {
  it("divides each round's run of a variant by the baseline's run of the same round", () => {
    const runs = [
      slice(1000, 0.02, 1, 500, { variant: "bare" }),
      slice(1000, 0.03, 1, 800, { variant: "shipped" }),
      slice(1000, 0.04, 1, 500, { variant: "bare" }),
      slice(1000, 0.05, 1, 2000, { variant: "shipped" }),
    ];
    const cpu = ratiosTo(runs, "shipped", "bare", (r) => r.cpuUsPerRequest);
    expect(cpu[0]).toBeCloseTo(1.5);
    expect(cpu[1]).toBeCloseTo(1.25);
    expect(ratiosTo(runs, "shipped", "bare", (r) => r.p99Ms)).toEqual([1.6, 4]);
    expect(ratiosTo([], "shipped", "bare", (r) => r.p99Ms)).toEqual([]);
  });

  it("refuses runs whose rounds do not pair up", () => {
    expect(() => ratiosTo([slice(1000, 0.02, 1, 500, { variant: "bare" })], "shipped", "bare", (r) => r.p99Ms)).toThrow(/0 runs of shipped but 1 of bare/);
  });
});
