import type { AddressInfo } from "node:net";
import {
  ArmComputeAdapter,
  ArmFederatedCredentials,
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
  readServiceAccountIssuer,
  systemClock,
  type BackoffOptions,
} from "@podid/adapter-k8s";
import type {
  AssignedIdentityWriterPort,
  ClockPort,
  ComputePort,
  EventRecorderPort,
  FederatedCredentialPort,
  LoggerPort,
  MetricsPort,
  WatchedResource,
} from "@podid/core";
import { buildProbeApp, listenOn, pinoLoggerPort, PromMetrics, type MetricsRoute } from "@podid/daemon-shell";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { controllerOptionsFrom, type MicConfig } from "../config/mic-config.js";
import { MicController } from "../controller/mic-controller.js";
import type { MicControllerOptions } from "../controller/mic-options.js";
import { createMicPino } from "../observability/mic-logging.js";
import { MIC_COUNTER, MIC_GAUGE, MIC_METRIC_DEFINITIONS } from "../observability/mic-metrics.js";
import { MIC_DAEMON_VERSION, MIC_VERSION } from "../version.js";
import { openCloudConfig, staticCloudConfig } from "./cloud-config-source.js";
import { LeaderControllerLoop } from "./leader-controller-loop.js";
import type { CloudConfigSource, MicKubeConfig, MicKubeReader, MicLeadership, MicProcessEnv } from "./mic-ports.js";
import { ReplaceableCompute } from "./replaceable-compute.js";

/**
 * `composeMic`: MIC's composition root, in plain construction that reads top to bottom — the process
 * basics (environment, clock, logger, metrics), the Kubernetes ports, the ARM port, the controller loop,
 * the servers — and the runtime with the start-up and shutdown sequences. `main.ts` calls it with the
 * parsed flags (through daemon-shell's `runDaemon`); tests and the demo call it in-process and may replace
 * any port through {@link MicOverrides}.
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
  /**
   * Federated identity credentials without an ARM client (tests). Default: `@azure/arm-msi` with the cloud
   * configuration's ARM settings; none when `compute` is injected without a cloud configuration.
   */
  readonly credentials?: FederatedCredentialPort;
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
  readonly config: MicConfig;
  readonly logger: LoggerPort;
  readonly registry: Registry;
  /** MIC's metrics on {@link registry} (tests assert `unknownNames()` stays empty). */
  readonly metrics: PromMetrics;
  /**
   * Starts: probe and metrics servers, the cloud configuration and ARM client, the caches, then the
   * leader election (the controller runs only while leading). Throws when a step fails (e.g. an invalid
   * `azure.json`), after undoing what it started.
   */
  start(): Promise<MicAddresses>;
  /**
   * Graceful shutdown: stop the controller, release the Lease (a standby takes over at once), flush
   * Events, stop the caches and the file watcher, close the servers last. Safe to call more than once,
   * and without `start()`.
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
  /** The ARM port in force (rebuilt in place when `azure.json` changes); `undefined` until `start()` loaded the cloud configuration. */
  compute(): ReplaceableCompute | undefined;
}

/** The resources MIC watches (no exceptions and no secrets: MIC needs neither). */
export const MIC_WATCHED_RESOURCES: readonly WatchedResource[] = ["pods", "nodes", "azureidentities", "azureidentitybindings", "azureassignedidentities"];

/** The user agent of MIC's Kubernetes and ARM requests (`--custom-user-agent` appended, as the original). */
export function micUserAgent(config: MicConfig): string {
  return MIC_DAEMON_VERSION.userAgent(config.customUserAgent);
}

function isCloudConfigSource(value: AzureConfig | CloudConfigSource): value is CloudConfigSource {
  return typeof (value as CloudConfigSource).onChange === "function";
}

/** `true` when metrics get their own server (different ports; two ephemeral ports are two servers). */
function separateMetrics(config: MicConfig): boolean {
  return config.prometheusPort !== config.probePort || config.probePort === 0;
}

/** `make()` on first use, the same value afterwards. */
function once<T>(make: () => T): () => T {
  let made: { readonly value: T } | undefined;
  return () => (made ??= { value: make() }).value;
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

/**
 * Composes MIC from `config`. Without overrides every port is the production adapter; pass overrides to
 * run against fakes (tests) or an embedded cluster (the demo). Nothing connects or listens before
 * `start()`; the kubeconfig is read here (a bad one fails at once).
 */
export function composeMic(config: MicConfig, overrides: MicOverrides = {}): MicRuntime {
  // ── Process basics ────────────────────────────────────────────────────────────────────────────
  const env = overrides.env ?? process.env;
  const clock = overrides.clock ?? systemClock;
  const logger = pinoLoggerPort(overrides.pino ?? createMicPino({ level: config.logLevel, base: { instance: config.leaderElection.instance } }));
  const registry = overrides.registry ?? new Registry();
  const metrics = new PromMetrics(MIC_METRIC_DEFINITIONS, registry);

  // ── Kubernetes ────────────────────────────────────────────────────────────────────────────────
  // The client is built only if a port below needs it: tests that inject every Kubernetes port need no kubeconfig.
  const kubeClient = once(() => {
    const inCluster = (env["KUBERNETES_SERVICE_HOST"] ?? "") !== "" && (env["KUBECONFIG"] ?? "") === "";
    const kubeConfig = overrides.kubeConfig ?? loadKubeConfig(kubeConfigSourceFrom({ kubeconfigPath: config.kubeconfig, inCluster }));
    return new KubeClient({ kubeConfig, clock, qps: config.clientQps, maxConcurrentWrites: config.createDeleteBatch, userAgent: micUserAgent(config) });
  });
  const events: EventRecorderPort & { flush?: () => Promise<void> } =
    overrides.events ??
    new KubeEventRecorder({
      client: kubeClient(),
      logger: logger.child({ part: "events" }),
      host: config.leaderElection.instance,
      metrics: { port: metrics, droppedMetric: MIC_COUNTER.eventsDropped },
    });
  const informers = overrides.informers ?? {};
  // Every replica watches (a standby is ready to lead at once) and reports each invalid object once per
  // version; gating this on leadership would lose the reports of objects listed before an election.
  const reader: MicKubeReader =
    overrides.reader ??
    new KubeInformerReader({
      client: kubeClient(),
      resources: MIC_WATCHED_RESOURCES,
      events,
      logger: logger.child({ part: "informers" }),
      ...(informers.backoff !== undefined ? { backoff: informers.backoff } : {}),
      ...(informers.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: informers.maxReconnectDelayMs } : {}),
      ...(informers.watchdogMs !== undefined ? { watchdogMs: informers.watchdogMs } : {}),
    });
  const writer = overrides.writer ?? new KubeAssignedIdentityWriter({ client: kubeClient(), logger: logger.child({ part: "writer" }), metrics });
  const leadership = overrides.leadership ?? micLeaderElector(config, kubeClient(), clock, logger.child({ part: "leader-election" }), metrics);

  // ── ARM ───────────────────────────────────────────────────────────────────────────────────────
  // Loaded by start(): reading azure.json (or the environment) and its first validation are asynchronous.
  let cloud: CloudConfigSource | undefined;
  let compute: ReplaceableCompute | undefined;
  const openCloud = async (): Promise<CloudConfigSource | undefined> => {
    const given = overrides.cloudConfig;
    if (given !== undefined) return isCloudConfigSource(given) ? given : staticCloudConfig(given);
    // With an injected ComputePort and no configuration, nothing needs one (no cluster identity then).
    if (overrides.compute !== undefined) return undefined;
    const opened = await openCloudConfig({ path: config.cloudconfig, env, logger: logger.child({ part: "cloud-config" }) });
    if (!opened.ok) throw new Error(describeAzureConfigError(opened.error));
    return opened.value;
  };
  const armAdapter = (azure: AzureConfig): ComputePort =>
    new ArmComputeAdapter({
      ...armClientSettings(azure, overrides.armRetry),
      credential: overrides.armCredential?.(azure) ?? createArmCredential(azure, overrides.imds !== undefined ? { imds: overrides.imds } : {}),
      userAgentPrefix: micUserAgent(config),
      pollIntervalMs: config.armPollIntervalMs,
      now: () => clock.now(),
      metrics,
    });
  const armCredentials = (azure: AzureConfig): FederatedCredentialPort =>
    new ArmFederatedCredentials({
      ...armClientSettings(azure, overrides.armRetry),
      credential: overrides.armCredential?.(azure) ?? createArmCredential(azure, overrides.imds !== undefined ? { imds: overrides.imds } : {}),
      userAgentPrefix: micUserAgent(config),
      now: () => clock.now(),
    });
  /**
   * The federated-credential port for `source` (type-3 identities, docs/adr/0021-federated-identities.md), following
   * `azure.json` changes like the compute port; `undefined` when there is no ARM configuration.
   */
  const openCredentials = (source: CloudConfigSource | undefined): FederatedCredentialPort | undefined => {
    if (overrides.credentials !== undefined) return overrides.credentials;
    if (source === undefined) return undefined;
    let current = armCredentials(source.current);
    source.onChange((next) => (current = armCredentials(next)));
    return {
      list: (id) => current.list(id),
      create: (id, credential) => current.create(id, credential),
      delete: (id, name) => current.delete(id, name),
    };
  };
  let credentials: FederatedCredentialPort | undefined;
  // `--service-account-issuer`, else the API server's discovery document (asked when a type-3 identity needs it).
  const serviceAccountIssuer = async (): Promise<string | undefined> =>
    config.serviceAccountIssuer !== "" ? config.serviceAccountIssuer : readServiceAccountIssuer(kubeClient());
  /** The ARM port for `source`, rebuilt in place (new credential, same port) on each valid `azure.json` change. */
  const openCompute = (source: CloudConfigSource | undefined): ReplaceableCompute => {
    if (overrides.compute !== undefined) return new ReplaceableCompute(overrides.compute);
    if (source === undefined) throw new Error("no cloud configuration and no compute port");
    const replaceable = new ReplaceableCompute(armAdapter(source.current));
    source.onChange((next) => replaceable.replace(armAdapter(next)));
    return replaceable;
  };

  // ── Controller ────────────────────────────────────────────────────────────────────────────────
  // A fresh controller per leadership term, created only after start() loaded the ARM port.
  const createController = (): MicController => {
    if (compute === undefined) throw new Error("the controller needs the ARM port: start() first");
    return new MicController(
      {
        reader,
        writer,
        compute,
        clock,
        logger: logger.child({ part: "controller" }),
        events,
        metrics,
        isLeader: () => leadership.isLeader(),
        ...(credentials === undefined ? {} : { credentials }),
        serviceAccountIssuer,
      },
      { ...controllerOptionsFrom(config, cloud?.current.clusterIdentityClientId ?? ""), ...overrides.controllerOptions },
    );
  };
  const loop = new LeaderControllerLoop({
    leadership,
    reader,
    createController,
    logger: logger.child({ part: "leadership" }),
    onActiveChange: (active) => metrics.setGauge(MIC_GAUGE.leader, {}, active ? 1 : 0),
  });

  // ── Servers ───────────────────────────────────────────────────────────────────────────────────
  let computeReady = false;
  let readerStarted = false;
  let loopStarted = false;
  let stopping: Promise<void> | undefined;
  const isActive = (): boolean => loopStarted && loop.active;
  const isSynced = (): boolean => readerStarted && reader.hasSynced();
  const metricsRoute: MetricsRoute = {
    registry,
    beforeScrape: () => {
      metrics.setGauge(MIC_GAUGE.leader, {}, isActive() ? 1 : 0);
      metrics.setGauge(MIC_GAUGE.quarantinedIdentities, {}, loopStarted ? (loop.controller?.quarantine.size ?? 0) : 0);
    },
  };
  const probeApp = buildProbeApp({
    probes: {
      active: isActive,
      readiness: [
        { name: "informers-synced", ok: isSynced },
        { name: "cloud-config", ok: () => computeReady },
        { name: "shutdown", ok: () => stopping === undefined },
      ],
    },
    ...(separateMetrics(config) ? {} : { metrics: metricsRoute }),
  });
  const metricsApp = separateMetrics(config) ? buildProbeApp({ metrics: metricsRoute }) : undefined;

  // ── Lifecycle ─────────────────────────────────────────────────────────────────────────────────
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
      const probe = await listenOn(probeApp, config.listenAddress, config.probePort);
      const metricsAddress = metricsApp === undefined ? probe : await listenOn(metricsApp, config.listenAddress, config.prometheusPort);
      logger.info({ address: probe.address, probePort: probe.port, metricsPort: metricsAddress.port }, "probe and metrics servers listening");

      cloud = await openCloud();
      compute = openCompute(cloud);
      credentials = openCredentials(cloud);
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
          loop.restartController("cluster identity changed");
        });
      }

      reader.start();
      readerStarted = true;
      void reader.whenSynced().then(() => logger.info({}, "caches synced"));
      loop.start();
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
      if (loopStarted) await loop.stop({ release: true });
      if (readerStarted) {
        // Events are best effort: give the last ones (e.g. "binding applied") a moment to reach the API server.
        if (events.flush !== undefined) await Promise.race([events.flush(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
        await reader.stop();
      }
      cloud?.close();
      await metricsApp?.close();
      await probeApp.close();
      logger.info({}, "stopped");
    })();
    return stopping;
  };

  return {
    config,
    logger,
    registry,
    metrics,
    start,
    stop,
    isLeader: () => loopStarted && leadership.isLeader(),
    isActive,
    controller: () => (loopStarted ? loop.controller : undefined),
    isSynced,
    compute: () => compute,
  };
}
