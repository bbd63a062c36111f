import type { MetricLabels, MetricsPort } from "@podid/core";

/** One labelled series of a metric, as returned by {@link RecordingMetrics.series}. */
export interface MetricSeries<V> {
  readonly labels: MetricLabels;
  readonly value: V;
}

/** Canonical series key: labels sorted by name, so label order never matters. */
function seriesKey(labels: MetricLabels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** True when every label in `partial` has the same value in `labels`. */
function includesLabels(labels: MetricLabels, partial: MetricLabels): boolean {
  return Object.entries(partial).every(([k, v]) => labels[k] === v);
}

class Family<V> {
  readonly #series = new Map<string, { labels: MetricLabels; value: V }>();

  get(labels: MetricLabels): V | undefined {
    return this.#series.get(seriesKey(labels))?.value;
  }

  update(labels: MetricLabels, change: (old: V | undefined) => V): void {
    const key = seriesKey(labels);
    this.#series.set(key, { labels: { ...labels }, value: change(this.#series.get(key)?.value) });
  }

  all(): readonly MetricSeries<V>[] {
    return [...this.#series.values()];
  }
}

/**
 * A {@link MetricsPort} that keeps every observation readable by name and labels. Exact lookups
 * ({@link counter}, {@link histogram}, {@link gauge}) ignore label order; {@link counterSum} adds up every
 * series matching a partial label set; {@link seriesCount} lets tests prove a metric's cardinality stays
 * bounded (no ids or paths as label values).
 */
export class RecordingMetrics implements MetricsPort {
  readonly #counters = new Map<string, Family<number>>();
  readonly #histograms = new Map<string, Family<number[]>>();
  readonly #gauges = new Map<string, Family<number>>();

  /** Adds `value` (default 1) to a counter. Negative increments throw, as in Prometheus clients. */
  increment(name: string, labels: MetricLabels = {}, value = 1): void {
    if (value < 0) throw new RangeError(`counter ${name} cannot decrease (${value})`);
    family(this.#counters, name).update(labels, (old) => (old ?? 0) + value);
  }

  /** Records one histogram observation. */
  observe(name: string, labels: MetricLabels, value: number): void {
    family(this.#histograms, name).update(labels, (old) => [...(old ?? []), value]);
  }

  /** Sets a gauge. */
  setGauge(name: string, labels: MetricLabels, value: number): void {
    family(this.#gauges, name).update(labels, () => value);
  }

  /** A counter's value for exactly these labels (0 when never incremented). */
  counter(name: string, labels: MetricLabels = {}): number {
    return this.#counters.get(name)?.get(labels) ?? 0;
  }

  /** The sum of a counter over every series whose labels include `partial` (all series by default). */
  counterSum(name: string, partial: MetricLabels = {}): number {
    return (this.#counters.get(name)?.all() ?? []).filter((s) => includesLabels(s.labels, partial)).reduce((sum, s) => sum + s.value, 0);
  }

  /** Every observation of a histogram for exactly these labels, in order. */
  histogram(name: string, labels: MetricLabels = {}): readonly number[] {
    return this.#histograms.get(name)?.get(labels) ?? [];
  }

  /** A gauge's value for exactly these labels, or `undefined` when never set. */
  gauge(name: string, labels: MetricLabels = {}): number | undefined {
    return this.#gauges.get(name)?.get(labels);
  }

  /** Every series of a metric of the given type. */
  series(type: "counter" | "gauge", name: string): readonly MetricSeries<number>[];
  series(type: "histogram", name: string): readonly MetricSeries<readonly number[]>[];
  series(type: "counter" | "gauge" | "histogram", name: string): readonly MetricSeries<number | readonly number[]>[] {
    const source = type === "counter" ? this.#counters : type === "gauge" ? this.#gauges : this.#histograms;
    return (source.get(name) as Family<number | number[]> | undefined)?.all() ?? [];
  }

  /** How many distinct label sets a metric has (across types), to assert bounded cardinality. */
  seriesCount(name: string): number {
    return [this.#counters, this.#gauges, this.#histograms].reduce((n, m) => n + ((m as Map<string, Family<unknown>>).get(name)?.all().length ?? 0), 0);
  }

  /** Names of every metric recorded so far, sorted. */
  names(): readonly string[] {
    return [...new Set([...this.#counters.keys(), ...this.#histograms.keys(), ...this.#gauges.keys()])].sort();
  }

  /** Forgets everything. */
  clear(): void {
    this.#counters.clear();
    this.#histograms.clear();
    this.#gauges.clear();
  }
}

function family<V>(map: Map<string, Family<V>>, name: string): Family<V> {
  let found = map.get(name);
  if (found === undefined) {
    found = new Family<V>();
    map.set(name, found);
  }
  return found;
}
