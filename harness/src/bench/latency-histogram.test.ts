import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addHistograms, bucketOf, parseHistogramLine, percentileMs } from "./latency-histogram.js";

/** The histogram of `latencies` (µs) as wrk's script builds it. */
function histogramOf(latencies: readonly number[]): ReadonlyMap<number, number> {
  const h = new Map<number, number>();
  for (const v of latencies) h.set(bucketOf(v), (h.get(bucketOf(v)) ?? 0) + 1);
  return h;
}

/** The exact quantile as wrk's own percentile reads it (the smallest value with at least q of the samples at or below it). */
function exactMs(latencies: readonly number[], q: number): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  return (sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN) / 1000;
}

const latencies = fc.array(fc.integer({ min: 1, max: 2_000_000 }), { minLength: 1, maxLength: 400 });

describe("latency histogram", () => {
  it("reads p50 and p99 never under the exact value and at most one bucket (1 %) over it", () => {
    fc.assert(
      fc.property(latencies, fc.constantFrom(0.5, 0.99), (values, q) => {
        const read = percentileMs(histogramOf(values), q);
        const exact = exactMs(values, q);
        expect(read).toBeGreaterThanOrEqual(exact * 0.999999);
        expect(read).toBeLessThanOrEqual(exact * 1.0101);
      }),
    );
  });

  it("adds slices into the distribution of all their samples (the round's p99, not a slice's)", () => {
    fc.assert(
      fc.property(fc.array(latencies, { minLength: 1, maxLength: 6 }), (slices) => {
        const merged = addHistograms(slices.map(histogramOf));
        expect(merged).toEqual(histogramOf(slices.flat()));
        expect(percentileMs(merged, 0.99)).toBe(percentileMs(histogramOf(slices.flat()), 0.99));
      }),
    );
    // One slow slice among fast ones: the round's p99 is not that slice's p99.
    const fast = Array.from({ length: 990 }, () => 2_000);
    const slow = Array.from({ length: 10 }, () => 100_000);
    expect(percentileMs(addHistograms([histogramOf(fast), histogramOf(slow)]), 0.99)).toBeLessThan(2.1);
  });

  it("parses the script's HIST line, and none as empty", () => {
    const h = parseHistogramLine('BENCH {"requests":3}\nHIST {"100":2,"-3":1}\n');
    expect([...h]).toEqual([[100, 2], [-3, 1]]);
    expect(parseHistogramLine("no histogram").size).toBe(0);
    expect(percentileMs(new Map(), 0.99)).toBeNaN();
  });
});
