/**
 * @podid/daemon-shell — the process shell both podid daemons (MIC and NMI) share: the pino logger and its
 * `LoggerPort`, the prom-client `MetricsPort` with the series fast path, the probe and metrics server,
 * the commander flag adaptation, the way a daemon states its version, and `runDaemon`, the main loop
 * with its signal handling and exit codes. The daemons keep what differs: their redaction lists, metric
 * definitions, flags and composition.
 *
 * Everything exported is named here on purpose (no `export *`); modules not listed are internal (the
 * series counters and histograms behind `PromMetrics`, their label trees). `public-surface.test.ts` pins
 * the list.
 * @packageDocumentation
 */

// --- Logging -------------------------------------------------------------------------------------
// The daemons' pino logger (JSON lines, secrets redacted) and core's LoggerPort over it.
export { createDaemonPino, pinoLoggerPort, REDACTED, silentPino } from "./observability/pino-logger.js";
export type { DaemonPinoOptions } from "./observability/pino-logger.js";

// --- Metrics -------------------------------------------------------------------------------------
// core's MetricsPort on prom-client, from each daemon's metric definitions, and the label guard that keeps a
// label's distinct values bounded.
export { BoundedLabel } from "./observability/bounded-label.js";
export { PromMetrics } from "./observability/prom-metrics.js";
export type { MetricDefinition } from "./observability/prom-metrics.js";

// --- Probe and metrics server --------------------------------------------------------------------
export { buildProbeApp, listenOn } from "./probes/probe-app.js";
export type { MetricsRoute, ProbeAppOptions, ProbeRoutes, ReadinessCheck } from "./probes/probe-app.js";

// --- Command line --------------------------------------------------------------------------------
// core's Go-compatible flag values on commander, and the program every daemon shares (help, version, errors).
export { boolArg, boolOption, flagArg, parseDaemonFlags } from "./flags/daemon-flags.js";
export type { DaemonCommandLine, ParsedFlags, RunCommand } from "./flags/daemon-flags.js";

// --- Version -------------------------------------------------------------------------------------
export { daemonVersion, readPackageVersion } from "./version.js";
export type { DaemonVersion } from "./version.js";

// --- The main loop -------------------------------------------------------------------------------
// Flags → configuration → runtime, then signals, graceful shutdown and exit codes.
export { DaemonExit, runDaemon } from "./process/run-daemon.js";
export type { DaemonProcessIo, DaemonRuntime, DaemonSignal, RunDaemonOptions } from "./process/run-daemon.js";
