import type { BoundMetric, MetricLabels } from "@podid/core";
import { SeriesMetric, type MetricExport, type SeriesMetricOptions } from "./series-metric.js";

/**
 * A labelled histogram for per-request metrics, exposed through prom-client's `Registry` exactly as a
 * prom-client `Histogram` with the same name, labels and buckets would be (a test compares the two
 * expositions). It exists for speed alone: prom-client's `observe` validates and hashes the label object
 * and indexes buckets by their bound as a property name on every call, about 650 ns, while NMI answers a
 * cached token in a few microseconds and observes once per request. Here a series is found through its label
 * values (`LabelTree`) and a bucket by index, about a tenth of that.
 * @packageDocumentation
 */

/** One label combination's counts. */
interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** One exported sample, in the shape prom-client's metrics hand to their registry. */
export interface HistogramSample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName: string;
  /** `null` on buckets (no exemplars), as prom-client reports them. */
  readonly exemplar?: null;
}

/** What the registry reads from the histogram. */
export type HistogramExport = MetricExport<"histogram", HistogramSample>;

/** Options of {@link SeriesHistogram}. */
export interface SeriesHistogramOptions extends SeriesMetricOptions {
  /** Upper bounds, ascending (`+Inf` is implied). */
  readonly buckets: readonly number[];
}

/** A prom-client-compatible histogram with a cheap `observe`. */
export class SeriesHistogram extends SeriesMetric<Series> {
  readonly type = "histogram" as const;
  readonly #bounds: readonly number[];

  constructor(options: SeriesHistogramOptions) {
    const bounds = [...options.buckets].sort((a, b) => a - b);
    super(options, (labels) => ({ labels, counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 }));
    this.#bounds = bounds;
  }

  /** Records `value` for the label combination `labels` (label names outside the definition are ignored). */
  observe(labels: MetricLabels, value: number): void {
    if (Number.isFinite(value)) this.#record(this.series.get(labels), value);
  }

  /**
   * `labels`' series, bound (`MetricsPort.bind`): `observe` records as {@link observe} does; `increment`, which
   * a histogram has not, calls `misused` instead.
   */
  bind(labels: MetricLabels, misused: () => void): BoundMetric {
    const series = this.boundSeries(labels);
    return {
      increment: misused,
      observe: (value) => {
        if (Number.isFinite(value)) this.#record(series(), value);
      },
    };
  }

  /** Counts `value` in `series`. */
  #record(series: Series, value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] ?? Number.POSITIVE_INFINITY)) i += 1;
    series.counts[i] = (series.counts[i] ?? 0) + 1;
    series.sum += value;
    series.count += 1;
  }

  /** The values as prom-client's `Histogram` reports them: cumulative buckets, then `+Inf`, sum and count. */
  async get(): Promise<HistogramExport> {
    const values: HistogramSample[] = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.counts[i] ?? 0;
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: "+Inf", ...series.labels }, value: series.count, metricName: `${this.name}_bucket`, exemplar: null });
      values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
