import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { RecordingMetrics } from "./recording-metrics.js";

describe("RecordingMetrics", () => {
  it("reads counters, histograms and gauges by name and labels in any order", () => {
    const metrics = new RecordingMetrics();
    metrics.increment("arm_calls_total", { op: "patch", result: "ok" });
    metrics.increment("arm_calls_total", { result: "ok", op: "patch" }, 2);
    metrics.increment("arm_calls_total", { op: "get", result: "ok" });
    metrics.increment("plain_total");
    metrics.observe("cycle_seconds", { outcome: "ok" }, 0.5);
    metrics.observe("cycle_seconds", { outcome: "ok" }, 1.5);
    metrics.setGauge("assigned", { node: "a" }, 3);
    metrics.setGauge("assigned", { node: "a" }, 2);
    expect(metrics.counter("arm_calls_total", { op: "patch", result: "ok" })).toBe(3);
    expect(metrics.counter("arm_calls_total", { op: "patch" })).toBe(0);
    expect(metrics.counterSum("arm_calls_total", { result: "ok" })).toBe(4);
    expect(metrics.counter("plain_total")).toBe(1);
    expect(metrics.histogram("cycle_seconds", { outcome: "ok" })).toEqual([0.5, 1.5]);
    expect(metrics.gauge("assigned", { node: "a" })).toBe(2);
    expect(metrics.gauge("assigned", { node: "b" })).toBeUndefined();
    expect(metrics.series("counter", "arm_calls_total")).toHaveLength(2);
    expect(metrics.series("histogram", "cycle_seconds")[0]?.value).toEqual([0.5, 1.5]);
    expect(metrics.seriesCount("arm_calls_total")).toBe(2);
    expect(metrics.names()).toEqual(["arm_calls_total", "assigned", "cycle_seconds", "plain_total"]);
    expect(() => metrics.increment("x", {}, -1)).toThrow(RangeError);
  });

  it("property: counter values equal the sum of increments per label set regardless of label order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: fc.constantFrom("1", "2"), b: fc.constantFrom("x", "y"), by: fc.integer({ min: 0, max: 5 }), flip: fc.boolean() }), { maxLength: 50 }),
        (ops) => {
          const metrics = new RecordingMetrics();
          const model = new Map<string, number>();
          for (const o of ops) {
            metrics.increment("c", o.flip ? { b: o.b, a: o.a } : { a: o.a, b: o.b }, o.by);
            model.set(`${o.a}/${o.b}`, (model.get(`${o.a}/${o.b}`) ?? 0) + o.by);
          }
          for (const [key, value] of model) {
            const [a = "", b = ""] = key.split("/");
            expect(metrics.counter("c", { a, b })).toBe(value);
          }
          expect(metrics.counterSum("c")).toBe(ops.reduce((s, o) => s + o.by, 0));
        },
      ),
      { numRuns: 100 },
    );
  });
});
