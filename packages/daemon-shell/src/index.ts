/**
 * @podid/daemon-shell — the process shell both podid daemons (MIC and NMI) share: the pino logger and its
 * `LoggerPort`, the prom-client `MetricsPort` with the series fast path, the probe and metrics server,
 * the commander flag adaptation, the way a daemon states its version, and `runDaemon`, the main loop
 * with its signal handling and exit codes. The daemons keep what differs: their redaction lists, metric
 * definitions, flags and composition.
 * @packageDocumentation
 */
export * from "./observability/pino-logger.js";
export * from "./observability/prom-metrics.js";
export * from "./observability/series-metric.js";
export * from "./observability/series-counter.js";
export * from "./observability/series-histogram.js";
export * from "./observability/label-tree.js";
export * from "./observability/bounded-label.js";
export * from "./probes/probe-app.js";
export * from "./flags/daemon-flags.js";
export * from "./version.js";
export * from "./process/run-daemon.js";
