import { Counter, Gauge, Histogram, Registry, type LabelValues } from "prom-client";
import { boundByName, type BoundMetric, type MetricLabels, type MetricsPort } from "@podid/core";
import { SeriesCounter } from "./series-counter.js";
import { SeriesHistogram } from "./series-histogram.js";

/**
 * core's {@link MetricsPort} on prom-client, registered from a daemon's definitions up front in a registry
 * of its own (never prom-client's global one, so tests that compose several daemons in one process never
 * collide with "already registered").
 * @packageDocumentation
 */

/** One metric to register. */
export interface MetricDefinition {
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Histogram bucket upper bounds, ascending (default prom-client's). */
  readonly buckets?: readonly number[];
}

type AnyMetric = Counter | SeriesCounter | Gauge | Histogram | SeriesHistogram;

/** The prom-client (or prom-client-compatible) metric for one definition. */
function metricFor(name: string, d: MetricDefinition, registry: Registry): AnyMetric {
  const common = { name, help: d.help, labelNames: [...d.labelNames], registers: [registry] };
  // Labelled counters and histograms take the series fast path (NMI records several per request). Unlabelled
  // ones stay prom-client's: prom-client reports their zero series before the first observation and the
  // series metrics create a series only when it is first used, so only prom-client keeps that exposition.
  const labelled = d.labelNames.length > 0;
  switch (d.type) {
    case "counter":
      return labelled ? new SeriesCounter(common) : new Counter(common);
    case "gauge":
      return new Gauge(common);
    case "histogram":
      if (labelled && d.buckets !== undefined) return new SeriesHistogram({ ...common, buckets: d.buckets });
      return new Histogram({ ...common, ...(d.buckets !== undefined ? { buckets: [...d.buckets] } : {}) });
  }
}

/**
 * Metrics registered from definitions up front. A name without a (matching) definition is a programming
 * error; recording must never throw inside a request or a controller pass, so it is remembered in
 * {@link unknownNames} (tests assert it stays empty) and otherwise ignored.
 */
export class PromMetrics implements MetricsPort {
  /** The registry `/metrics` exposes. */
  readonly registry: Registry;
  readonly #metrics = new Map<string, AnyMetric>();
  readonly #unknown = new Set<string>();

  /** Registers every definition, in order (the exposition's order), in `registry` (default: a new one). */
  constructor(definitions: Readonly<Record<string, MetricDefinition>>, registry: Registry = new Registry()) {
    this.registry = registry;
    for (const [name, d] of Object.entries(definitions)) this.#metrics.set(name, metricFor(name, d, registry));
  }

  // Label objects are handed to the metrics as they are (both kinds only read them): no copy per request.

  /** Adds `value` (default 1) to a counter (or a gauge). */
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

  /**
   * The series of counter or histogram `name` for `labels` (see `MetricsPort.bind`). The series metrics (every
   * labelled counter and histogram) find it once; other kinds record through {@link increment} and
   * {@link observe} with a copy of the labels. Recording the wrong kind, or to an unknown name, is remembered
   * in {@link unknownNames} as those do.
   */
  bind(name: string, labels: MetricLabels): BoundMetric {
    const metric = this.#metrics.get(name);
    const misused = (): void => {
      this.#unknown.add(name);
    };
    if (metric instanceof SeriesCounter || metric instanceof SeriesHistogram) return metric.bind(labels, misused);
    return boundByName(this, name, labels);
  }

  /** Names used without a (matching) definition. */
  unknownNames(): readonly string[] {
    return [...this.#unknown];
  }
}
