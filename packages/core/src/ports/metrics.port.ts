/** Label values of one observation; keep them bounded (no raw paths, no ids). */
export type MetricLabels = Readonly<Record<string, string>>;

/** Metrics sink (prom-client in the deployables). Names come from `METRIC` (metrics/metric-names.ts). */
export interface MetricsPort {
  /** Adds `value` (default 1) to a counter. */
  increment(name: string, labels?: MetricLabels, value?: number): void;
  /** Records one histogram observation (seconds for durations). */
  observe(name: string, labels: MetricLabels, value: number): void;
  /** Sets a gauge. */
  setGauge(name: string, labels: MetricLabels, value: number): void;
}
