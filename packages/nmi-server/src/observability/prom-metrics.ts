import { Counter, Gauge, Histogram, Registry, type LabelValues } from "prom-client";
import type { MetricLabels, MetricsPort } from "@podid/core";
import { NMI_METRIC_DEFINITIONS, type MetricDefinition } from "./nmi-metrics.js";
import { SeriesCounter } from "./series-counter.js";
import { SeriesHistogram } from "./series-histogram.js";

/**
 * {@link MetricsPort} on prom-client, with a registry per instance (never the global one, so tests that
 * build several apps never collide with "already registered").
 * @packageDocumentation
 */

type AnyMetric = Counter | SeriesCounter | Gauge | Histogram | SeriesHistogram;

/**
 * Metrics registered from definitions up front. A name without a definition is a programming error; it is
 * not allowed to throw inside a request, so it is recorded in {@link unknownNames} (tests assert it stays
 * empty) and otherwise ignored.
 */
export class PromMetrics implements MetricsPort {
  /** The registry to expose on `/metrics`. */
  readonly registry: Registry;
  readonly #metrics = new Map<string, AnyMetric>();
  readonly #unknown = new Set<string>();

  /** Registers every definition (default: all of NMI's) in `registry` (default: a new one). */
  constructor(definitions: Readonly<Record<string, MetricDefinition>> = NMI_METRIC_DEFINITIONS, registry: Registry = new Registry()) {
    this.registry = registry;
    for (const [name, d] of Object.entries(definitions)) {
      const common = { name, help: d.help, labelNames: [...d.labelNames], registers: [registry] };
      const metric =
        d.type === "counter"
          ? d.labelNames.length > 0
            ? // Labelled counters (NMI's per-request ones among them) take the cheap path.
              new SeriesCounter(common)
            : new Counter(common)
          : d.type === "gauge"
            ? new Gauge(common)
            : d.buckets !== undefined
              ? // Histograms with their buckets given (all of NMI's) take the cheap per-request path.
                new SeriesHistogram({ ...common, buckets: d.buckets })
              : new Histogram(common);
      this.#metrics.set(name, metric);
    }
  }

  // Label objects are handed to prom-client as they are (it only reads them): no copy per request.

  /** Adds `value` to a counter (or a gauge). */
  increment(name: string, labels: MetricLabels = {}, value = 1): void {
    const metric = this.#metrics.get(name);
    if (metric instanceof SeriesCounter) metric.inc(labels, value);
    else if (metric instanceof Counter || metric instanceof Gauge) metric.inc(labels as LabelValues<string>, value);
    else this.#unknown.add(name);
  }

  /** Records a histogram observation. */
  observe(name: string, labels: MetricLabels, value: number): void {
    const metric = this.#metrics.get(name);
    if (metric instanceof SeriesHistogram) metric.observe(labels, value);
    else if (metric instanceof Histogram) metric.observe(labels as LabelValues<string>, value);
    else this.#unknown.add(name);
  }

  /** Sets a gauge. */
  setGauge(name: string, labels: MetricLabels, value: number): void {
    const metric = this.#metrics.get(name);
    if (metric instanceof Gauge) metric.set(labels as LabelValues<string>, value);
    else this.#unknown.add(name);
  }

  /** Names used without a (matching) definition. */
  unknownNames(): readonly string[] {
    return [...this.#unknown];
  }
}
