import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { VirtualClock } from "../clock/virtual-clock.js";
import { RecordingEventRecorder } from "./recording-event-recorder.js";
import { RecordingLogger } from "./recording-logger.js";
import { RecordingMetrics } from "./recording-metrics.js";

describe("RecordingLogger", () => {
  it("records lines with merged child bindings in one shared, ordered sink", () => {
    const clock = new VirtualClock({ startMs: 42 });
    const root = new RecordingLogger({ clock, bindings: { component: "mic" } });
    const cycle = root.child({ cycle: 7 });
    const node = cycle.child({ node: "n1", cycle: 8 });
    root.info({}, "starting");
    node.warn({ identity: "id1", node: "override" }, "assign failed");
    cycle.debug({ n: 1 }, "tick");
    expect(root.lines.map((l) => [l.seq, l.level, l.message])).toEqual([
      [1, "info", "starting"],
      [2, "warn", "assign failed"],
      [3, "debug", "tick"],
    ]);
    expect(node.lines).toBe(root.lines);
    expect(root.find("assign failed")?.fields).toEqual({ component: "mic", cycle: 8, node: "override", identity: "id1" });
    expect(root.find("assign failed")?.bindings).toEqual({ component: "mic", cycle: 8, node: "n1" });
    expect(root.find(/^tick$/, "debug")?.atMs).toBe(42);
    expect(root.find("tick", "info")).toBeUndefined();
    expect(root.atLevel("warn")).toHaveLength(1);
    expect(root.findAll(/a/)).toHaveLength(2);
  });

  it("mentions finds leaked text in messages and nested fields, and never throws on odd values", () => {
    const logger = new RecordingLogger();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic["self"] = cyclic;
    logger.error({ nested: { token: "eyJhbGciOi.secret" }, big: 10n, cyclic }, "token refresh failed");
    expect(logger.mentions("eyJhbGciOi.secret")).toBe(true);
    expect(logger.mentions("refresh failed")).toBe(true);
    expect(logger.mentions("not-there")).toBe(false);
    logger.clear();
    expect(logger.lines).toEqual([]);
  });
});

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

describe("RecordingEventRecorder", () => {
  it("records and filters Events", () => {
    const recorder = new RecordingEventRecorder({ clock: new VirtualClock({ startMs: 5 }) });
    const binding = { kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "default", name: "b1" };
    recorder.record(binding, "Normal", "binding applied", "applied to pod default/p1");
    recorder.record({ ...binding, name: "b2" }, "Warning", "binding invalid", "identity missing");
    expect(recorder.count()).toBe(2);
    expect(recorder.find({ type: "Warning" }).map((e) => e.object.name)).toEqual(["b2"]);
    expect(recorder.find({ reason: "binding applied", message: "pod default/p1" })).toHaveLength(1);
    expect(recorder.find({ message: /^identity/ })).toHaveLength(1);
    expect(recorder.find({ kind: "Pod" })).toHaveLength(0);
    expect(recorder.events[0]?.atMs).toBe(5);
    recorder.clear();
    expect(recorder.count()).toBe(0);
  });
});
