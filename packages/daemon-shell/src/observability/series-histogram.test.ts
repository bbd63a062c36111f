import fc from "fast-check";
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SeriesHistogram } from "./series-histogram.js";

const LABELS = ["operation_type", "status_code", "namespace"] as const;
const BUCKETS = [0.0005, 0.001, 0.01, 0.1, 1, 10];

const observation = fc.record({
  labels: fc.record({
    operation_type: fc.constantFrom("token", "instance", "proxy"),
    status_code: fc.constantFrom("200", "400", "404"),
    namespace: fc.oneof(fc.constantFrom("default", "kube-system", ""), fc.string({ maxLength: 6 })),
  }),
  value: fc.oneof(fc.constantFrom(0, 0.0005, 0.001, 0.01, 10, 11), fc.double({ min: 0, max: 20, noNaN: true })),
});

describe("SeriesHistogram", () => {
  it("renders exactly prom-client's exposition for the same observations", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 40 }), async (observations) => {
        const ours = new Registry();
        const theirs = new Registry();
        const fast = new SeriesHistogram({ name: "x_seconds", help: "help text", labelNames: LABELS, buckets: BUCKETS, registers: [ours] });
        const reference = new Histogram({ name: "x_seconds", help: "help text", labelNames: [...LABELS], buckets: BUCKETS, registers: [theirs] });
        for (const o of observations) {
          fast.observe(o.labels, o.value);
          reference.observe(o.labels, o.value);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 200 },
    );
  });

  it("keeps label combinations apart whatever their values, ignores non-finite values, and resets", async () => {
    const registry = new Registry();
    const h = new SeriesHistogram({ name: "y", help: "h", labelNames: ["a", "b"], buckets: [1], registers: [registry] });
    h.observe({ a: "1:", b: "" }, 0.5);
    h.observe({ a: "", b: "1:" }, 0.5);
    h.observe({ a: "x", b: "y" }, Number.NaN);
    const text = await registry.metrics();
    expect(text).toContain('y_count{a="1:",b=""} 1');
    expect(text).toContain('y_count{a="",b="1:"} 1');
    expect(text).not.toContain('a="x"');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain("y_count");
  });
});
