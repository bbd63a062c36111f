/**
 * @podid/nmi-server — the podid node daemon (NMI): an IMDS-compatible token server on fastify, driven by
 * `@podid/core`'s decision functions and composed from core's ports. The `podid-nmi` binary is
 * `dist/main.js`; this entry point is for embedders (the harness's benchmark and system tests): the one
 * configuration, the token server with injected ports, and the whole daemon's composition. Everything
 * else (the token path's steps, the interception keeper, the flag parser's internals) is internal.
 * @packageDocumentation
 */

// ── configuration: one NmiConfig, every default in one table ──
export {
  defineNmiConfig,
  NMI_CONFIG_DEFAULTS,
  type InterceptionMode,
  type InterceptionRelease,
  type NmiConfig,
  type NmiConfigInput,
  type NmiLogLevel,
  type OperationMode,
} from "./config/nmi-config.js";
export { parseNmiFlags, type NmiCommand } from "./config/parse-nmi-flags.js";

// ── the token server, built with injected ports ──
export { createNmiServer, type NmiApp, type NmiServer, type NmiServerPorts } from "./token-path/1-http-entry.js";
export type { NmiEngine, NmiEnginePorts, NmiRequest, OnClientGone } from "./token-path/2-routes.js";
export {
  loggerAuditWriter,
  type AuditFacts,
  type AuditRecord,
  type AuditSubject,
  type AuditWriter,
  type CacheResult,
  type NmiReply,
  type ServedRequest,
} from "./token-path/7-response-audit.js";
export { PinoAuditWriter, type PinoAuditWriterOptions } from "./token-path/8-audit-lines.js";
export { createNmiLogging, createNmiPino, REDACT_PATHS, type NmiLogging, type NmiPinoOptions } from "./nmi-logging.js";
export type { ForwardedResponse, ForwardError, ForwardRequest, HeaderBag, ImdsForwarder } from "./imds-forwarder.js";
export { NMI_METRIC, NMI_METRIC_DEFINITIONS } from "./nmi-metrics.js";

// ── the whole daemon ──
export {
  composeNmi,
  type ComposeNmiOptions,
  type NmiAdapterContext,
  type NmiAdapters,
  type NmiAddresses,
  type NmiKubeReader,
  type NmiRuntime,
} from "./compose-nmi.js";
export { productionAdapters } from "./production-adapters.js";
