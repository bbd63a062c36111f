/**
 * @podid/nmi-server — the podid node daemon (NMI): an IMDS-compatible token server on fastify, driven by
 * @podid/core's decision functions, composed from core's ports.
 * @packageDocumentation
 */
export * from "./version.js";
export * from "./config/nmi-config.js";
export * from "./config/parse-nmi-flags.js";
export * from "./config/kubenet-guard.js";
export * from "./app/nmi-app-config.js";
export * from "./app/build-nmi-app.js";
export * from "./app/nmi-service.js";
export * from "./app/audit.js";
export * from "./app/audit-writer.js";
export * from "./app/assignment-watch.js";
export * from "./app/cluster-view.js";
export * from "./app/token-fetcher.js";
export * from "./app/request-id.js";
export * from "./app/token-flow.js";
export * from "./app/decision-memo.js";
export * from "./app/forward-flow.js";
export type * from "./app/flow-context.js";
export * from "./cache/token-cache-driver.js";
export * from "./cache/upstream-gate.js";
export * from "./cache/pod-rate-gate.js";
export * from "./proxy/forward-headers.js";
export * from "./proxy/http-forwarder.js";
export * from "./observability/pino-logger.js";
export * from "./observability/pino-audit-writer.js";
export * from "./observability/prom-metrics.js";
export * from "./observability/nmi-metrics.js";
export * from "./observability/bounded-label.js";
export * from "./probes/build-probe-app.js";
export * from "./probes/interception-keeper.js";
export * from "./composition/nmi-adapters.js";
export * from "./composition/service-ids.js";
export * from "./composition/compose-nmi.js";
