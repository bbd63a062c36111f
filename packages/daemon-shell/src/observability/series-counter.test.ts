import fc from "fast-check";
import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SeriesCounter } from "./series-counter.js";

const increment = fc.record({
  labels: fc.record({ decision: fc.oneof(fc.constantFrom("issued", "notFound", ""), fc.string({ maxLength: 5 })), scope: fc.constantFrom("pod", "node") }),
  value: fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 }), fc.double({ min: 0, max: 3, noNaN: true })), { nil: undefined }),
});

describe("SeriesCounter", () => {
  it("renders exactly prom-client's exposition for the same increments", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(increment, { maxLength: 40 }), async (increments) => {
        const ours = new Registry();
        const theirs = new Registry();
        const fast = new SeriesCounter({ name: "x_total", help: "help text", labelNames: ["decision", "scope"], registers: [ours] });
        const reference = new Counter({ name: "x_total", help: "help text", labelNames: ["decision", "scope"], registers: [theirs] });
        for (const i of increments) {
          fast.inc(i.labels, i.value);
          reference.inc(i.labels, i.value);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 200 },
    );
  });

  it("never throws inside a request: negative and non-finite increments are ignored", async () => {
    const registry = new Registry();
    const c = new SeriesCounter({ name: "y_total", help: "h", labelNames: ["a"], registers: [registry] });
    c.inc({ a: "x" }, -1);
    c.inc({ a: "x" }, Number.NaN);
    c.inc({ a: "x" });
    expect(await registry.metrics()).toContain('y_total{a="x"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('a="x"');
  });

  it("is only for labelled counters", () => {
    expect(() => new SeriesCounter({ name: "z_total", help: "h", labelNames: [], registers: [] })).toThrow(/at least one label/);
  });
});
