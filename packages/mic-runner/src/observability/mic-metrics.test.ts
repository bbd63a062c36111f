import { PromMetrics } from "@podid/daemon-shell";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MIC_GAUGE, MIC_METRIC_DEFINITIONS } from "./mic-metrics.js";

/** MIC's definitions on prom-client alone: the `/metrics` exposition before daemon-shell's series fast path. */
function promClientOnly(): { registry: Registry; metrics: Map<string, Counter | Gauge | Histogram> } {
  const registry = new Registry();
  const metrics = new Map<string, Counter | Gauge | Histogram>();
  for (const [name, d] of Object.entries(MIC_METRIC_DEFINITIONS)) {
    const common = { name, help: d.help, labelNames: [...d.labelNames], registers: [registry] };
    metrics.set(
      name,
      d.type === "counter" ? new Counter(common) : d.type === "gauge" ? new Gauge(common) : new Histogram({ ...common, ...(d.buckets !== undefined ? { buckets: [...d.buckets] } : {}) }),
    );
  }
  return { registry, metrics };
}

describe("MIC's metrics", () => {
  it("expose byte for byte what prom-client alone exposed, before and after recordings of every metric", async () => {
    const ours = new PromMetrics(MIC_METRIC_DEFINITIONS);
    const theirs = promClientOnly();
    expect(await ours.registry.metrics()).toBe(await theirs.registry.metrics());
    const operations = ["vmss_get", "vmss_update", "vm_get", "vm_update"];
    let step = 0;
    for (const [name, d] of Object.entries(MIC_METRIC_DEFINITIONS)) {
      for (const operation of d.labelNames.length > 0 ? operations : [undefined]) {
        const labels: Record<string, string> = operation === undefined ? {} : { [d.labelNames[0] ?? ""]: operation };
        const value = (step++ % 7) * 0.37;
        const reference = theirs.metrics.get(name);
        if (d.type === "histogram") {
          ours.observe(name, labels, value);
          (reference as Histogram).observe(labels, value);
        } else if (d.type === "counter") {
          ours.increment(name, labels);
          (reference as Counter).inc(labels);
        } else {
          ours.setGauge(name, labels, 1);
          (reference as Gauge).set(labels, 1);
        }
      }
    }
    expect(await ours.registry.metrics()).toBe(await theirs.registry.metrics());
    expect(ours.unknownNames()).toEqual([]);
    expect(await ours.registry.metrics()).toMatch(new RegExp(`^${MIC_GAUGE.leader} 1$`, "m"));
  });
});
