import type { BoundMetric, MetricLabels, MetricsPort } from "../ports/metrics.port.js";

/**
 * Binding a metric series (`MetricsPort.bind`) for a sink that may not offer it.
 * @packageDocumentation
 */

/**
 * A series of `name` for `labels` that records through `metrics.increment` and `metrics.observe` with a copy of
 * the labels (read once, as `bind` promises): what binding is for a sink that finds series by name and labels.
 */
export function boundByName(metrics: MetricsPort, name: string, labels: MetricLabels): BoundMetric {
  const own: MetricLabels = { ...labels };
  return {
    increment: (value) => metrics.increment(name, own, value),
    observe: (value) => metrics.observe(name, own, value),
  };
}

/** The series of `name` for `labels`: the sink's own bound series when it has them, else {@link boundByName}. */
export function bindMetric(metrics: MetricsPort, name: string, labels: MetricLabels): BoundMetric {
  return metrics.bind !== undefined ? metrics.bind(name, labels) : boundByName(metrics, name, labels);
}
