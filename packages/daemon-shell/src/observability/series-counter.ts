import type { BoundMetric, MetricLabels } from "@podid/core";
import { SeriesMetric, type MetricExport, type SeriesMetricOptions } from "./series-metric.js";

/**
 * A labelled counter for per-request metrics (NMI's), exposed through prom-client's `Registry` exactly as a
 * prom-client `Counter` with the same name and labels would be (a test compares the two expositions).
 * Like {@link SeriesHistogram} it exists for speed: prom-client's `inc` validates and hashes the label
 * object on every call, and NMI increments two counters per request.
 * @packageDocumentation
 */

/** One label combination's value. */
interface CounterSeries {
  readonly labels: Readonly<Record<string, string>>;
  value: number;
}

/** What the registry reads from the counter. */
export type CounterExport = MetricExport<"counter", CounterSeries>;

/** Options of {@link SeriesCounter}: at least one label (an unlabelled counter is prom-client's, which reports its zero before any increment). */
export type SeriesCounterOptions = SeriesMetricOptions;

/** Whether a counter takes `value` (a counter never goes down; prom-client would throw where this ignores). */
function countable(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

/** A prom-client-compatible labelled counter with a cheap `inc`. */
export class SeriesCounter extends SeriesMetric<CounterSeries> {
  readonly type = "counter" as const;

  constructor(options: SeriesCounterOptions) {
    if (options.labelNames.length === 0) throw new Error(`SeriesCounter ${options.name} needs at least one label`);
    super(options, (labels) => ({ labels, value: 0 }));
  }

  /** Adds `value` (default 1; negative or non-finite values are ignored, never thrown) to `labels`' series. */
  inc(labels: MetricLabels, value = 1): void {
    if (countable(value)) this.series.get(labels).value += value;
  }

  /**
   * `labels`' series, bound (`MetricsPort.bind`): `increment` adds as {@link inc} does; `observe`, which a
   * counter has not, calls `misused` instead.
   */
  bind(labels: MetricLabels, misused: () => void): BoundMetric {
    const series = this.boundSeries(labels);
    return {
      increment: (value = 1) => {
        if (countable(value)) series().value += value;
      },
      observe: misused,
    };
  }

  /** The values as prom-client's `Counter` reports them. */
  async get(): Promise<CounterExport> {
    const values = this.series.values().map((s) => ({ value: s.value, labels: { ...s.labels } }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
