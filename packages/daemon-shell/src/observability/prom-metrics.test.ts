import fc from "fast-check";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { PromMetrics, type MetricDefinition } from "./prom-metrics.js";

/** One of each shape the daemons define: unlabelled (MIC's) and labelled (NMI's), with and without buckets. */
const DEFINITIONS: Readonly<Record<string, MetricDefinition>> = {
  plain_duration_seconds: { type: "histogram", help: "unlabelled histogram", labelNames: [], buckets: [0.01, 0.1, 1] },
  plain_count: { type: "counter", help: "unlabelled counter", labelNames: [] },
  op_duration_seconds: { type: "histogram", help: "labelled histogram", labelNames: ["operation_type"], buckets: [0.05, 0.5, 5] },
  op_errors_count: { type: "counter", help: "labelled counter", labelNames: ["operation_type"] },
  default_buckets_seconds: { type: "histogram", help: "labelled, prom-client's buckets", labelNames: ["outcome"] },
  leader: { type: "gauge", help: "a gauge", labelNames: [] },
};

/** The same definitions on prom-client alone: what `/metrics` showed before the series fast path. */
function reference(registry: Registry): Record<string, Counter | Gauge | Histogram> {
  const out: Record<string, Counter | Gauge | Histogram> = {};
  for (const [name, d] of Object.entries(DEFINITIONS)) {
    const common = { name, help: d.help, labelNames: [...d.labelNames], registers: [registry] };
    out[name] =
      d.type === "counter" ? new Counter(common) : d.type === "gauge" ? new Gauge(common) : new Histogram({ ...common, ...(d.buckets !== undefined ? { buckets: [...d.buckets] } : {}) });
  }
  return out;
}

const operation = fc.constantFrom("vmss_get", "vmss_update", "vm_get", "");
const step = fc.oneof(
  fc.record({ kind: fc.constant("observe" as const), name: fc.constantFrom("plain_duration_seconds"), labels: fc.constant({}), value: fc.double({ min: 0, max: 10, noNaN: true }) }),
  fc.record({ kind: fc.constant("observe" as const), name: fc.constant("op_duration_seconds"), labels: fc.record({ operation_type: operation }), value: fc.double({ min: 0, max: 10, noNaN: true }) }),
  fc.record({ kind: fc.constant("observe" as const), name: fc.constant("default_buckets_seconds"), labels: fc.record({ outcome: fc.constantFrom("assigned", "timeout") }), value: fc.double({ min: 0, max: 20, noNaN: true }) }),
  fc.record({ kind: fc.constant("increment" as const), name: fc.constant("plain_count"), labels: fc.constant({}), value: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("increment" as const), name: fc.constant("op_errors_count"), labels: fc.record({ operation_type: operation }), value: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("gauge" as const), name: fc.constant("leader"), labels: fc.constant({}), value: fc.constantFrom(0, 1) }),
);

describe("PromMetrics", () => {
  it("exposes exactly what prom-client alone exposes for the same recordings, before and after any", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        const metrics = new PromMetrics(DEFINITIONS);
        const theirs = new Registry();
        const ref = reference(theirs);
        expect(await metrics.registry.metrics()).toBe(await theirs.metrics());
        for (const s of steps) {
          const r = ref[s.name];
          if (s.kind === "observe") {
            metrics.observe(s.name, s.labels, s.value);
            (r as Histogram).observe(s.labels, s.value);
          } else if (s.kind === "increment") {
            metrics.increment(s.name, s.labels, s.value);
            (r as Counter).inc(s.labels, s.value);
          } else {
            metrics.setGauge(s.name, s.labels, s.value);
            (r as Gauge).set(s.labels, s.value);
          }
        }
        expect(await metrics.registry.metrics()).toBe(await theirs.metrics());
        expect(metrics.unknownNames()).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it("records through bound series exactly as through names and labels, also after a reset", async () => {
    const boundStep = fc.oneof({ weight: 6, arbitrary: step.filter((s) => s.kind !== "gauge") }, { weight: 1, arbitrary: fc.constant({ kind: "reset" as const }) });
    await fc.assert(
      fc.asyncProperty(fc.array(boundStep, { maxLength: 40 }), async (steps) => {
        const metrics = new PromMetrics(DEFINITIONS);
        const theirs = new Registry();
        const ref = reference(theirs);
        // Bound once per series and reused, as NMI does; the label objects are changed afterwards to show they were read once.
        const bound = new Map<string, ReturnType<PromMetrics["bind"]>>();
        const boundOf = (name: string, labels: Readonly<Record<string, string>>) => {
          const key = JSON.stringify([name, labels]);
          let b = bound.get(key);
          if (b === undefined) {
            const own: Record<string, string> = { ...labels };
            b = metrics.bind(name, own);
            for (const k of Object.keys(own)) own[k] = "changed";
            bound.set(key, b);
          }
          return b;
        };
        for (const s of steps) {
          if (s.kind === "reset") {
            metrics.registry.resetMetrics();
            theirs.resetMetrics();
          } else if (s.kind === "observe") {
            boundOf(s.name, s.labels).observe(s.value);
            (ref[s.name] as Histogram).observe(s.labels, s.value);
          } else if (s.kind === "increment") {
            boundOf(s.name, s.labels).increment(s.value);
            (ref[s.name] as Counter).inc(s.labels, s.value);
          }
        }
        expect(await metrics.registry.metrics()).toBe(await theirs.metrics());
        expect(metrics.unknownNames()).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it("remembers a bound series recorded as the wrong kind, or of an unknown name, instead of throwing", async () => {
    const metrics = new PromMetrics(DEFINITIONS);
    metrics.bind("op_errors_count", { operation_type: "vm_get" }).observe(1);
    metrics.bind("op_duration_seconds", { operation_type: "vm_get" }).increment();
    metrics.bind("nope_total", {}).increment();
    expect(metrics.unknownNames()).toEqual(["op_errors_count", "op_duration_seconds", "nope_total"]);
    expect(await metrics.registry.metrics()).not.toMatch(/vm_get/);
  });

  it("remembers names without a matching definition instead of throwing", () => {
    const metrics = new PromMetrics(DEFINITIONS);
    metrics.increment("nope_total");
    metrics.observe("plain_count", {}, 1);
    metrics.setGauge("plain_count", {}, 1);
    metrics.increment("leader", {}, 2);
    expect(metrics.unknownNames()).toEqual(["nope_total", "plain_count"]);
  });

  it("uses the registry it is given, never prom-client's global one (two instances never collide)", async () => {
    const registry = new Registry();
    const a = new PromMetrics(DEFINITIONS, registry);
    expect(a.registry).toBe(registry);
    const b = new PromMetrics(DEFINITIONS);
    a.increment("plain_count");
    expect(await b.registry.metrics()).toMatch(/^plain_count 0$/m);
    expect(await registry.metrics()).toMatch(/^plain_count 1$/m);
  });
});
