import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { MetricLabels, MetricsPort } from "@podid/core";
import { MIC_METRIC_DEFINITIONS, type MetricDefinition } from "./mic-metrics.js";

type AnyMetric = Counter | Gauge | Histogram;

/**
 * core's {@link MetricsPort} on prom-client, registered from definitions up front in a registry of its
 * own (never prom-client's global one, so tests that compose several MICs in one process never collide).
 * A name without a definition is a programming error; recording must never throw inside a controller
 * pass, so it is remembered in {@link unknownNames} (tests assert it stays empty) and otherwise ignored.
 */
export class PromMetrics implements MetricsPort {
  /** The registry `/metrics` exposes. */
  readonly registry: Registry;
  readonly #metrics = new Map<string, AnyMetric>();
  readonly #unknown = new Set<string>();

  /** Registers `definitions` (default: MIC's) in `registry` (default: a new one). */
  constructor(definitions: Readonly<Record<string, MetricDefinition>> = MIC_METRIC_DEFINITIONS, registry: Registry = new Registry()) {
    this.registry = registry;
    for (const [name, d] of Object.entries(definitions)) {
      const common = { name, help: d.help, labelNames: [...d.labelNames], registers: [registry] };
      const metric =
        d.type === "counter"
          ? new Counter(common)
          : d.type === "gauge"
            ? new Gauge(common)
            : new Histogram({ ...common, ...(d.buckets !== undefined ? { buckets: [...d.buckets] } : {}) });
      this.#metrics.set(name, metric);
    }
  }

  /** Adds `value` (default 1) to a counter. */
  increment(name: string, labels: MetricLabels = {}, value = 1): void {
    const metric = this.#metrics.get(name);
    if (metric instanceof Counter || metric instanceof Gauge) metric.inc({ ...labels }, value);
    else this.#unknown.add(name);
  }

  /** Records a histogram observation. */
  observe(name: string, labels: MetricLabels, value: number): void {
    const metric = this.#metrics.get(name);
    if (metric instanceof Histogram) metric.observe({ ...labels }, value);
    else this.#unknown.add(name);
  }

  /** Sets a gauge. */
  setGauge(name: string, labels: MetricLabels, value: number): void {
    const metric = this.#metrics.get(name);
    if (metric instanceof Gauge) metric.set({ ...labels }, value);
    else this.#unknown.add(name);
  }

  /** Names used without a (matching) definition. */
  unknownNames(): readonly string[] {
    return [...this.#unknown];
  }
}
