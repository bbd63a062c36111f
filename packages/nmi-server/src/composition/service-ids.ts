import type { ServiceIdentifier } from "inversify";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ClockPort, LoggerPort, MetricsPort, NetfilterPort, TokenSourcePort } from "@podid/core";
import type { AuditWriter } from "../app/audit-writer.js";
import type { NmiApp } from "../app/build-nmi-app.js";
import type { NmiConfig } from "../config/nmi-config.js";
import type { ImdsForwarder } from "../proxy/http-forwarder.js";
import type { NmiAdapterContext, NmiKubeReader } from "./nmi-adapters.js";

/**
 * Service identifiers of NMI's inversify container (`Symbol.for`, so two copies of the package agree).
 * @packageDocumentation
 */

/**
 * A server in the container. Fastify instances are thenables, which inversify would treat as asynchronous
 * values, so servers are bound inside this holder.
 */
export interface ServerHolder<App extends FastifyInstance = FastifyInstance> {
  readonly app: App;
}

/** Every service the composition root binds. */
export const NMI_SERVICE = {
  Config: Symbol.for("podid.nmi.Config") as ServiceIdentifier<NmiConfig>,
  Clock: Symbol.for("podid.nmi.ClockPort") as ServiceIdentifier<ClockPort>,
  Pino: Symbol.for("podid.nmi.Pino") as ServiceIdentifier<Logger>,
  Logger: Symbol.for("podid.nmi.LoggerPort") as ServiceIdentifier<LoggerPort>,
  Audit: Symbol.for("podid.nmi.AuditWriter") as ServiceIdentifier<AuditWriter>,
  Registry: Symbol.for("podid.nmi.Registry") as ServiceIdentifier<Registry>,
  Metrics: Symbol.for("podid.nmi.MetricsPort") as ServiceIdentifier<MetricsPort>,
  AdapterContext: Symbol.for("podid.nmi.AdapterContext") as ServiceIdentifier<NmiAdapterContext>,
  KubeReader: Symbol.for("podid.nmi.KubeReaderPort") as ServiceIdentifier<NmiKubeReader>,
  TokenSource: Symbol.for("podid.nmi.TokenSourcePort") as ServiceIdentifier<TokenSourcePort>,
  Netfilter: Symbol.for("podid.nmi.NetfilterPort") as ServiceIdentifier<NetfilterPort>,
  Forwarder: Symbol.for("podid.nmi.ImdsForwarder") as ServiceIdentifier<ImdsForwarder>,
  NmiServer: Symbol.for("podid.nmi.NmiServer") as ServiceIdentifier<ServerHolder<NmiApp>>,
  ProbeServer: Symbol.for("podid.nmi.ProbeServer") as ServiceIdentifier<ServerHolder>,
  /** Absent (`app` undefined) when metrics share the probe port. */
  MetricsServer: Symbol.for("podid.nmi.MetricsServer") as ServiceIdentifier<{ readonly app: FastifyInstance | undefined }>,
} as const;
