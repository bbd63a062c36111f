/** Label values of one observation; keep them bounded (no raw paths, no ids). */
export type MetricLabels = Readonly<Record<string, string>>;

/** One series of a counter or histogram: a metric with its label values fixed (see {@link MetricsPort.bind}). */
export interface BoundMetric {
  /** Adds `value` (default 1) to the bound counter. */
  increment(value?: number): void;
  /** Records one observation of the bound histogram. */
  observe(value: number): void;
}

/** Metrics sink (prom-client in the deployables). Names come from `METRIC` (metrics/metric-names.ts). */
export interface MetricsPort {
  /** Adds `value` (default 1) to a counter. */
  increment(name: string, labels?: MetricLabels, value?: number): void;
  /** Records one histogram observation (seconds for durations). */
  observe(name: string, labels: MetricLabels, value: number): void;
  /** Sets a gauge. */
  setGauge(name: string, labels: MetricLabels, value: number): void;
  /**
   * The series of counter or histogram `name` for `labels`, to record to many times without finding it again
   * (a hot path records the same few series on every request). `labels` are read here, once. Optional: a sink
   * without it is recorded to through {@link increment} and {@link observe}.
   */
  bind?(name: string, labels: MetricLabels): BoundMetric;
}
