import type { KubeClient, loadKubeConfig } from "@podid/adapter-k8s";
import type { AssignedIdentityWriterPort, ClockPort, EventRecorderPort, LoggerPort } from "@podid/core";
import type { FastifyInstance } from "fastify";
import type { ServiceIdentifier } from "inversify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { MicConfig } from "../config/mic-config.js";
import type { MicController } from "../controller/mic-controller.js";
import type { PromMetrics } from "../observability/prom-metrics.js";
import type { LeaderControllerLoop } from "./leader-controller-loop.js";
import type { CloudConfigSource, MicKubeReader, MicLeadership } from "./mic-ports.js";
import type { ReplaceableCompute } from "./replaceable-compute.js";

/**
 * Service identifiers of MIC's inversify container (`Symbol.for`, so two copies of the package agree).
 * @packageDocumentation
 */

/**
 * A server in the container. Fastify instances are thenables, which inversify would treat as asynchronous
 * values, so servers are bound inside this holder.
 */
export interface ServerHolder {
  readonly app: FastifyInstance;
}

/** client-node's `KubeConfig` (named through adapter-k8s, which owns that dependency). */
export type MicKubeConfig = ReturnType<typeof loadKubeConfig>;

/** The environment MIC reads (the cloud configuration variables when `--cloudconfig` is empty, `KUBECONFIG`, …). */
export type MicProcessEnv = Readonly<Record<string, string | undefined>>;

/** Every service MIC's composition root binds. */
export const MIC_SERVICE = {
  Config: Symbol.for("podid.mic.Config") as ServiceIdentifier<MicConfig>,
  Env: Symbol.for("podid.mic.Env") as ServiceIdentifier<MicProcessEnv>,
  Clock: Symbol.for("podid.mic.ClockPort") as ServiceIdentifier<ClockPort>,
  Pino: Symbol.for("podid.mic.Pino") as ServiceIdentifier<Logger>,
  Logger: Symbol.for("podid.mic.LoggerPort") as ServiceIdentifier<LoggerPort>,
  Registry: Symbol.for("podid.mic.Registry") as ServiceIdentifier<Registry>,
  Metrics: Symbol.for("podid.mic.MetricsPort") as ServiceIdentifier<PromMetrics>,
  KubeConfig: Symbol.for("podid.mic.KubeConfig") as ServiceIdentifier<MicKubeConfig>,
  KubeClient: Symbol.for("podid.mic.KubeClient") as ServiceIdentifier<KubeClient>,
  Reader: Symbol.for("podid.mic.KubeReaderPort") as ServiceIdentifier<MicKubeReader>,
  Writer: Symbol.for("podid.mic.AssignedIdentityWriterPort") as ServiceIdentifier<AssignedIdentityWriterPort>,
  Events: Symbol.for("podid.mic.EventRecorderPort") as ServiceIdentifier<EventRecorderPort & { flush?: () => Promise<void> }>,
  Leadership: Symbol.for("podid.mic.Leadership") as ServiceIdentifier<MicLeadership>,
  /** Asynchronous: resolve with `getAsync` (it loads `azure.json` or the environment). */
  CloudConfig: Symbol.for("podid.mic.CloudConfigSource") as ServiceIdentifier<CloudConfigSource | undefined>,
  /** Asynchronous (depends on the cloud configuration). */
  Compute: Symbol.for("podid.mic.ComputePort") as ServiceIdentifier<ReplaceableCompute>,
  ControllerFactory: Symbol.for("podid.mic.ControllerFactory") as ServiceIdentifier<() => MicController>,
  Loop: Symbol.for("podid.mic.LeaderControllerLoop") as ServiceIdentifier<LeaderControllerLoop>,
  ProbeServer: Symbol.for("podid.mic.ProbeServer") as ServiceIdentifier<ServerHolder>,
  /** `undefined` when metrics share the probe server (equal ports). */
  MetricsServer: Symbol.for("podid.mic.MetricsServer") as ServiceIdentifier<ServerHolder | undefined>,
} as const;
