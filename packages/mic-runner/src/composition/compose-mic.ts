import type { AddressInfo } from "node:net";
import {
  ArmComputeAdapter,
  armClientSettings,
  createArmCredential,
  describeAzureConfigError,
  type ArmComputeAdapterOptions,
  type ArmRetryOptions,
  type AzureConfig,
  type ImdsClientOptions,
} from "@podid/adapter-azure";
import {
  createMicLeaderElector,
  KubeAssignedIdentityWriter,
  KubeClient,
  KubeEventRecorder,
  KubeInformerReader,
  LeaderElector,
  kubeConfigSourceFrom,
  loadKubeConfig,
  systemClock,
  type BackoffOptions,
} from "@podid/adapter-k8s";
import {
  type AssignedIdentityWriterPort,
  type ClockPort,
  type ComputePort,
  type EventRecorderPort,
  type LoggerPort,
  type MetricsPort,
  type WatchedResource,
} from "@podid/core";
import type { FastifyInstance } from "fastify";
import { Container } from "inversify";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { controllerOptionsFrom, type MicConfig } from "../config/mic-config.js";
import { MicController } from "../controller/mic-controller.js";
import type { MicControllerOptions } from "../controller/mic-options.js";
import { MIC_GAUGE, MIC_METRIC_DEFINITIONS } from "../observability/mic-metrics.js";
import { createMicPino, pinoLoggerPort } from "../observability/pino-logger.js";
import { PromMetrics } from "../observability/prom-metrics.js";
import { buildProbeApp } from "../http/probe-app.js";
import { MIC_VERSION } from "../version.js";
import { openCloudConfig, staticCloudConfig } from "./cloud-config-source.js";
import { LeaderControllerLoop } from "./leader-controller-loop.js";
import type { CloudConfigSource, MicKubeReader, MicLeadership } from "./mic-ports.js";
import { ReplaceableCompute } from "./replaceable-compute.js";
import { MIC_SERVICE, type MicKubeConfig, type MicProcessEnv } from "./service-ids.js";

/**
 * `composeMic`: MIC's composition root. Binds core's ports to adapter-k8s and adapter-azure and MIC's own
 * services in an inversify container — `toConstantValue`/`toResolvedValue`/`toDynamicValue` with Symbol
 * ids, no decorators — and returns a runtime with the start-up and shutdown sequences. `main.ts` calls it
 * with the parsed flags; tests and the demo call it in-process and may replace any port.
 * @packageDocumentation
 */

/** An ARM credential (`@azure/core-auth`'s `TokenCredential`, named through adapter-azure). */
export type MicArmCredential = ArmComputeAdapterOptions["credential"];

/** Replacements for the parts `composeMic` would otherwise build from the configuration. */
export interface MicOverrides {
  /** Environment (default `process.env`): `KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, the cloud variables. */
  readonly env?: MicProcessEnv;
  readonly clock?: ClockPort;
  /** The process logger (default JSON lines on stdout at `config.logLevel`). */
  readonly pino?: Logger;
  /** The metrics registry (default a new one). */
  readonly registry?: Registry;
  /** Kubernetes connection (default from `--kubeconfig`, `$KUBECONFIG`, in-cluster). */
  readonly kubeConfig?: MicKubeConfig;
  readonly reader?: MicKubeReader;
  readonly writer?: AssignedIdentityWriterPort;
  readonly events?: EventRecorderPort;
  readonly leadership?: MicLeadership;
  /** The cloud configuration (default: `--cloudconfig`'s `azure.json`, watched, or the environment). */
  readonly cloudConfig?: AzureConfig | CloudConfigSource;
  /** Builds the ARM credential for a configuration (default adapter-azure's `createArmCredential`). */
  readonly armCredential?: (config: AzureConfig) => MicArmCredential;
  /** IMDS for the managed-identity credential of `useManagedIdentityExtension` (default the link-local address). */
  readonly imds?: ImdsClientOptions;
  /** The SDK's own retries of 5xx/408/network errors (default adapter-azure's: 3). */
  readonly armRetry?: ArmRetryOptions;
  /**
   * ARM access without an ARM client (e.g. testkit's `FakeCompute` in-process). The cloud configuration is
   * then optional and only supplies the cluster identity.
   */
  readonly compute?: ComputePort;
  /** Controller tuning beyond the flags (tests: shorter failure backoff). */
  readonly controllerOptions?: Partial<MicControllerOptions>;
  /** Informer tuning (tests: fast restarts after dropped watches). */
  readonly informers?: { readonly backoff?: BackoffOptions; readonly maxReconnectDelayMs?: number; readonly watchdogMs?: number };
}

/** Where the servers listen once started. */
export interface MicAddresses {
  readonly probe: AddressInfo;
  /** Equal to `probe` when metrics share the probe server. */
  readonly metrics: AddressInfo;
}

/** A composed MIC. */
export interface MicRuntime {
  readonly container: Container;
  readonly config: MicConfig;
  readonly logger: LoggerPort;
  readonly registry: Registry;
  /**
   * Starts: probe and metrics servers, the cloud configuration and ARM client, the caches, then the
   * leader election (the controller runs only while leading). Throws when a step fails (e.g. an invalid
   * `azure.json`), after undoing what it started.
   */
  start(): Promise<MicAddresses>;
  /**
   * Graceful shutdown: stop the controller, release the Lease (a standby takes over at once), flush
   * Events, stop the caches and the file watcher, close the servers last. Safe to call more than once.
   */
  stop(reason?: string): Promise<void>;
  /** True while this replica holds the Lease. */
  isLeader(): boolean;
  /** True while this replica leads and its controller runs (`/healthz` says `Active`). */
  isActive(): boolean;
  /** The controller of the current leadership term, if any. */
  controller(): MicController | undefined;
  /** True once every cache has completed its first list. */
  isSynced(): boolean;
}

/** The resources MIC watches (no exceptions and no secrets: MIC needs neither). */
export const MIC_WATCHED_RESOURCES: readonly WatchedResource[] = ["pods", "nodes", "azureidentities", "azureidentitybindings", "azureassignedidentities"];

const ID = MIC_SERVICE;

/** The user agent of MIC's Kubernetes and ARM requests (`--custom-user-agent` appended, as the original). */
export function micUserAgent(config: MicConfig): string {
  return `podid-mic/${MIC_VERSION}${config.customUserAgent === "" ? "" : ` ${config.customUserAgent}`}`;
}

function isCloudConfigSource(value: AzureConfig | CloudConfigSource): value is CloudConfigSource {
  return typeof (value as CloudConfigSource).onChange === "function";
}

/** `true` when metrics get their own server (different ports; two ephemeral ports are two servers). */
function separateMetrics(config: MicConfig): boolean {
  return config.prometheusPort !== config.probePort || config.probePort === 0;
}

/**
 * MIC's leader election on its Lease: adapter-k8s's `createMicLeaderElector` (the original's
 * 15 s / 7.5 s / 3.75 s from `--leader-election-duration`, a Lease client with its own rate limit).
 */
export function micLeaderElector(config: MicConfig, client: KubeClient, clock: ClockPort, logger: LoggerPort, metrics: MetricsPort): LeaderElector {
  return createMicLeaderElector({
    client,
    identity: config.leaderElection.instance,
    durationMs: config.leaderElection.durationMs,
    lockName: config.leaderElection.name,
    lockNamespace: config.leaderElection.namespace,
    clock,
    logger,
    metrics,
  });
}

/** Binds everything; nothing is constructed until resolved. */
function bindAll(container: Container, config: MicConfig, overrides: MicOverrides): void {
  const env = overrides.env ?? process.env;
  container.bind(ID.Config).toConstantValue(config);
  container.bind(ID.Env).toConstantValue(env);
  container.bind(ID.Clock).toConstantValue(overrides.clock ?? systemClock);
  container.bind(ID.Pino).toConstantValue(overrides.pino ?? createMicPino({ level: config.logLevel, base: { instance: config.leaderElection.instance } }));
  container.bind(ID.Logger).toResolvedValue((pino: Logger) => pinoLoggerPort(pino), [ID.Pino]);
  container.bind(ID.Registry).toConstantValue(overrides.registry ?? new Registry());
  container.bind(ID.Metrics).toResolvedValue((registry: Registry) => new PromMetrics(MIC_METRIC_DEFINITIONS, registry), [ID.Registry]);

  container.bind(ID.KubeConfig).toDynamicValue(() => {
    if (overrides.kubeConfig !== undefined) return overrides.kubeConfig;
    const inCluster = (env["KUBERNETES_SERVICE_HOST"] ?? "") !== "" && (env["KUBECONFIG"] ?? "") === "";
    return loadKubeConfig(kubeConfigSourceFrom({ kubeconfigPath: config.kubeconfig, inCluster }));
  });
  container.bind(ID.KubeClient).toResolvedValue(
    (kubeConfig: MicKubeConfig, clock: ClockPort) =>
      new KubeClient({ kubeConfig, clock, qps: config.clientQps, maxConcurrentWrites: config.createDeleteBatch, userAgent: micUserAgent(config) }),
    [ID.KubeConfig, ID.Clock],
  );
  container.bind(ID.Events).toDynamicValue((ctx) => {
    if (overrides.events !== undefined) return overrides.events;
    return new KubeEventRecorder({ client: ctx.get(ID.KubeClient), logger: ctx.get(ID.Logger).child({ part: "events" }), host: config.leaderElection.instance });
  });
  container.bind(ID.Leadership).toDynamicValue((ctx) => {
    if (overrides.leadership !== undefined) return overrides.leadership;
    return micLeaderElector(config, ctx.get(ID.KubeClient), ctx.get(ID.Clock), ctx.get(ID.Logger).child({ part: "leader-election" }), ctx.get(ID.Metrics));
  });
  container.bind(ID.Reader).toDynamicValue((ctx) => {
    if (overrides.reader !== undefined) return overrides.reader;
    const informers = overrides.informers ?? {};
    // Every replica watches (a standby is ready to lead at once) and reports each invalid object once per
    // version; gating this on leadership would lose the reports of objects listed before an election.
    return new KubeInformerReader({
      client: ctx.get(ID.KubeClient),
      resources: MIC_WATCHED_RESOURCES,
      events: ctx.get(ID.Events),
      logger: ctx.get(ID.Logger).child({ part: "informers" }),
      ...(informers.backoff !== undefined ? { backoff: informers.backoff } : {}),
      ...(informers.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: informers.maxReconnectDelayMs } : {}),
      ...(informers.watchdogMs !== undefined ? { watchdogMs: informers.watchdogMs } : {}),
    });
  });
  container.bind(ID.Writer).toDynamicValue((ctx) => {
    if (overrides.writer !== undefined) return overrides.writer;
    return new KubeAssignedIdentityWriter({ client: ctx.get(ID.KubeClient), logger: ctx.get(ID.Logger).child({ part: "writer" }), metrics: ctx.get(ID.Metrics) });
  });

  container.bind(ID.CloudConfig).toDynamicValue(async (ctx) => {
    const given = overrides.cloudConfig;
    if (given !== undefined) return isCloudConfigSource(given) ? given : staticCloudConfig(given);
    // With an injected ComputePort and no configuration, nothing needs one (no cluster identity then).
    if (overrides.compute !== undefined) return undefined;
    const opened = await openCloudConfig({ path: config.cloudconfig, env, logger: ctx.get(ID.Logger).child({ part: "cloud-config" }) });
    if (!opened.ok) throw new Error(describeAzureConfigError(opened.error));
    return opened.value;
  });
  container.bind(ID.Compute).toDynamicValue(async (ctx) => {
    const source = await ctx.getAsync(ID.CloudConfig);
    if (overrides.compute !== undefined) return new ReplaceableCompute(overrides.compute);
    if (source === undefined) throw new Error("no cloud configuration and no compute port");
    const metrics = ctx.get(ID.Metrics);
    const clock = ctx.get(ID.Clock);
    const build = (azure: AzureConfig): ComputePort =>
      new ArmComputeAdapter({
        ...armClientSettings(azure, overrides.armRetry),
        credential: overrides.armCredential?.(azure) ?? createArmCredential(azure, overrides.imds !== undefined ? { imds: overrides.imds } : {}),
        userAgentPrefix: micUserAgent(config),
        pollIntervalMs: config.armPollIntervalMs,
        now: () => clock.now(),
        metrics,
      });
    const compute = new ReplaceableCompute(build(source.current));
    source.onChange((next) => compute.replace(build(next)));
    return compute;
  });

  // Called once per leadership term, after start() resolved the asynchronous cloud configuration and
  // compute port (so plain `get` finds them cached).
  container.bind(ID.ControllerFactory).toConstantValue(() => {
    const source = container.get(ID.CloudConfig);
    const leadership = container.get(ID.Leadership);
    return new MicController(
      {
        reader: container.get(ID.Reader),
        writer: container.get(ID.Writer),
        compute: container.get(ID.Compute),
        clock: container.get(ID.Clock),
        logger: container.get(ID.Logger).child({ part: "controller" }),
        events: container.get(ID.Events),
        metrics: container.get(ID.Metrics),
        isLeader: () => leadership.isLeader(),
      },
      { ...controllerOptionsFrom(config, source?.current.clusterIdentityClientId ?? ""), ...overrides.controllerOptions },
    );
  });
  container.bind(ID.Loop).toResolvedValue(
    (leadership: MicLeadership, reader: MicKubeReader, createController: () => MicController, logger: LoggerPort, metrics: PromMetrics) =>
      new LeaderControllerLoop({
        leadership,
        reader,
        createController,
        logger: logger.child({ part: "leadership" }),
        onActiveChange: (active) => metrics.setGauge(MIC_GAUGE.leader, {}, active ? 1 : 0),
      }),
    [ID.Leadership, ID.Reader, ID.ControllerFactory, ID.Logger, ID.Metrics],
  );
}

/**
 * Composes MIC from `config`. Without overrides every port is the production adapter; pass overrides to
 * run against fakes (tests) or an embedded cluster (the demo).
 */
export function composeMic(config: MicConfig, overrides: MicOverrides = {}): MicRuntime {
  const container = new Container({ defaultScope: "Singleton" });
  bindAll(container, config, overrides);
  const logger = container.get(ID.Logger);
  const registry = container.get(ID.Registry);
  const metrics = container.get(ID.Metrics);
  const loop = (): LeaderControllerLoop => container.get(ID.Loop);
  let computeReady = false;
  let readerStarted = false;
  let loopStarted = false;
  let cloud: CloudConfigSource | undefined;
  let stopping: Promise<void> | undefined;

  const isActive = (): boolean => loopStarted && loop().active;
  const isSynced = (): boolean => readerStarted && container.get(ID.Reader).hasSynced();
  container.bind(ID.ProbeServer).toConstantValue({
    app: buildProbeApp({
      probes: {
        active: isActive,
        readiness: [
          { name: "informers-synced", ok: isSynced },
          { name: "cloud-config", ok: () => computeReady },
          { name: "shutdown", ok: () => stopping === undefined },
        ],
      },
      ...(separateMetrics(config) ? {} : { metrics: metricsRoute() }),
    }),
  });
  container.bind(ID.MetricsServer).toConstantValue(separateMetrics(config) ? { app: buildProbeApp({ metrics: metricsRoute() }) } : undefined);

  function metricsRoute() {
    return {
      registry,
      beforeScrape: () => {
        metrics.setGauge(MIC_GAUGE.leader, {}, isActive() ? 1 : 0);
        metrics.setGauge(MIC_GAUGE.quarantinedIdentities, {}, loopStarted ? (loop().controller?.quarantine.size ?? 0) : 0);
      },
    };
  }

  const listen = async (app: FastifyInstance, port: number): Promise<AddressInfo> => {
    await app.listen({ host: config.listenAddress, port });
    return app.server.address() as AddressInfo;
  };

  const start = async (): Promise<MicAddresses> => {
    logger.info(
      {
        version: MIC_VERSION,
        identity: config.leaderElection.instance,
        lease: `${config.leaderElection.namespace}/${config.leaderElection.name}`,
        leaseDurationMs: config.leaderElection.durationMs,
        forceNamespaced: config.forceNamespaced,
        batchWindowMs: config.batchWindowMs,
      },
      "starting podid MIC",
    );
    try {
      const probe = await listen(container.get(ID.ProbeServer).app, config.probePort);
      const metricsApp = container.get(ID.MetricsServer);
      const metricsAddress = metricsApp === undefined ? probe : await listen(metricsApp.app, config.prometheusPort);
      logger.info({ address: probe.address, probePort: probe.port, metricsPort: metricsAddress.port }, "probe and metrics servers listening");

      cloud = await container.getAsync(ID.CloudConfig);
      await container.getAsync(ID.Compute);
      computeReady = true;
      const clusterIdentity = cloud?.current.clusterIdentityClientId ?? "";
      if (cloud !== undefined) {
        logger.info(
          { source: cloud.current.source, cloud: cloud.current.cloud.name, arm: cloud.current.cloud.resourceManagerEndpoint, credential: cloud.current.credential.kind, clusterIdentity },
          "cloud configuration loaded",
        );
        let lastClusterIdentity = clusterIdentity;
        cloud.onChange((next) => {
          if (next.clusterIdentityClientId === lastClusterIdentity) return;
          lastClusterIdentity = next.clusterIdentityClientId;
          logger.info({ clusterIdentity: lastClusterIdentity }, "cluster identity changed");
          loop().restartController("cluster identity changed");
        });
      }

      const reader = container.get(ID.Reader);
      reader.start();
      readerStarted = true;
      void reader.whenSynced().then(() => logger.info({}, "caches synced"));
      loop().start();
      loopStarted = true;
      return { probe, metrics: metricsAddress };
    } catch (error) {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, "start-up failed");
      await stop("start-up failed");
      throw error;
    }
  };

  const stop = (reason = "stop requested"): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, "shutting down");
      if (loopStarted) await loop().stop({ release: true });
      if (readerStarted) {
        // Events are best effort: give the last ones (e.g. "binding applied") a moment to reach the API server.
        const events = container.get(ID.Events);
        if (events.flush !== undefined) await Promise.race([events.flush(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
        await container.get(ID.Reader).stop();
      }
      cloud?.close();
      await container.get(ID.MetricsServer)?.app.close();
      await container.get(ID.ProbeServer).app.close();
      logger.info({}, "stopped");
    })();
    return stopping;
  };

  return {
    container,
    config,
    logger,
    registry,
    start,
    stop,
    isLeader: () => loopStarted && container.get(ID.Leadership).isLeader(),
    isActive,
    controller: () => (loopStarted ? loop().controller : undefined),
    isSynced,
  };
}
