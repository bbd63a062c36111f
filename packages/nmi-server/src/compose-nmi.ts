import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import type {
  ClockPort,
  EventRecorderPort,
  KubeReaderPort,
  LoggerPort,
  MetricsPort,
  NetfilterPort,
  SecretProviderClassReaderPort,
  ServiceAccountTokenReaderPort,
  TokenSourcePort,
} from "@podid/core";
import { systemClock } from "@podid/adapter-k8s";
import { buildProbeApp, listenOn, pinoLoggerPort, PromMetrics, silentPino, type DaemonRuntime } from "@podid/daemon-shell";
import { interceptionSpecFrom, listenAddressesFrom, type NmiConfig } from "./config/nmi-config.js";
import { listenAlso, type ExtraListener } from "./extra-listener.js";
import type { ImdsForwarder } from "./imds-forwarder.js";
import { AntiSpoofingKeeper, CallerInterfaces, type AntiSpoofingPort } from "./anti-spoofing-keeper.js";
import { InterceptionKeeper } from "./interception-keeper.js";
import { createNmiLogging } from "./nmi-logging.js";
import { NMI_METRIC_DEFINITIONS } from "./nmi-metrics.js";
import { createNmiServer, type NmiServer } from "./token-path/1-http-entry.js";
import { loggerAuditWriter, type AuditWriter } from "./token-path/7-response-audit.js";

/**
 * `composeNmi`: NMI's composition, plain construction read top to bottom — config → logging and metrics →
 * adapters → token server → interception keeper → probe server — and the runtime with the start-up and
 * SIGTERM sequences. NMI depends on core's ports alone: the deployable passes adapter-k8s, adapter-azure
 * and adapter-iptables factories (`production-adapters.ts`), tests pass testkit's fakes, with the same wiring.
 * @packageDocumentation
 */

/** What every adapter factory receives. */
export interface NmiAdapterContext {
  /** The whole configuration (node name, `enableScaleFeatures`, `kubeconfig`, conntrack deletion, …). */
  readonly config: NmiConfig;
  readonly logger: LoggerPort;
  readonly clock: ClockPort;
  readonly metrics: MetricsPort;
}

/**
 * A {@link KubeReaderPort} with an optional lifecycle: `start` resolves once the caches are synced (the
 * original blocked on informer sync before serving), `stop` ends the watches.
 */
export interface NmiKubeReader extends KubeReaderPort {
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** Factories of the adapters NMI runs on. */
export interface NmiAdapters {
  /**
   * Informer caches of what the token path reads (`nmiWatchScope`): this node's pods and AzureAssignedIdentities
   * (label `nodename=<node>` when `enableScaleFeatures`; none in managed mode), AzureIdentities, bindings, the
   * exceptions of the exception namespaces, plus Secret reads (adapter-k8s). No Nodes.
   */
  readonly kubeReader: (context: NmiAdapterContext) => NmiKubeReader;
  /** IMDS and AAD token acquisition (adapter-azure). */
  readonly tokenSource: (context: NmiAdapterContext) => TokenSourcePort;
  /** The `aad-metadata` nat chain (adapter-iptables; honours `enableConntrackDeletion`). */
  readonly netfilter: (context: NmiAdapterContext) => NetfilterPort;
  /** Real time unless given. */
  readonly clock?: ClockPort;
  /** Forwarding to IMDS; default: HTTP to `--metadata-ip:--metadata-port` (built by the token server). */
  readonly forwarder?: (context: NmiAdapterContext) => ImdsForwarder;
  /** Kubernetes Events (adapter-k8s's `KubeEventRecorder`); default: none (refusals are still logged and counted). */
  readonly events?: (context: NmiAdapterContext) => EventRecorderPort;
  /**
   * Anti-spoofing (adapter-iptables' `NftAntiSpoofing`; docs/adr/0010-anti-spoofing.md), used when
   * `config.antiSpoofing`; absent: attribution by source IP alone (the original's behaviour).
   */
  readonly antiSpoofing?: (context: NmiAdapterContext) => AntiSpoofingPort;
  /**
   * On-demand SecretProviderClass reads for `--host-token=scoped` (adapter-k8s's `KubeSecretProviderClassReader`;
   * docs/adr/0019-scoped-host-token.md); absent: a pod whose only Key Vault volumes are CSI volumes gets 503.
   */
  readonly secretProviderClasses?: (context: NmiAdapterContext) => SecretProviderClassReaderPort;
  /**
   * Reads pods' projected service-account tokens from `config.kubeletPodsDir` for federated identities
   * (adapter-k8s's `KubeletServiceAccountTokenReader`; docs/adr/0021-federated-identities.md); absent: a
   * federated identity's token requests are answered 503.
   */
  readonly serviceAccountTokens?: (context: NmiAdapterContext) => ServiceAccountTokenReaderPort;
}

/** Where the servers listen once started. */
export interface NmiAddresses {
  readonly nmi: AddressInfo;
  readonly probe: AddressInfo;
  /** Absent when metrics share the probe port. */
  readonly metrics?: AddressInfo;
}

/** A composed NMI (what daemon-shell's `runDaemon` starts and stops). */
export interface NmiRuntime extends DaemonRuntime {
  /** The configuration it was composed from. */
  readonly config: NmiConfig;
  /** The token server (its fastify app and engine). */
  readonly tokenServer: NmiServer;
  /** Starts in the original's order: probes, caches synced, token server, interception. Throws when a step fails. */
  start(): Promise<NmiAddresses>;
  /**
   * The SIGTERM drain: stop accepting and answer waiting requests 503, let in-flight requests finish
   * (bounded by `--graceful-shutdown-timeout-sec`), release the interception per `--interception-release`,
   * stop the caches, close the probe and metrics servers last. Safe to call more than once.
   */
  stop(reason?: string): Promise<void>;
  /** The daemon's operational logger. */
  readonly logger: LoggerPort;
}

/** Options of {@link composeNmi}. */
export interface ComposeNmiOptions {
  /** The process logger (default: JSON to stdout at `config.logLevel`, with redaction). */
  readonly pino?: Logger;
  /**
   * Where audit records go (default: with the default logger, its batched `PinoAuditWriter`; with a given
   * `pino`, one line each through it).
   */
  readonly audit?: AuditWriter;
  /** The metrics registry (default: a new per-process one). */
  readonly registry?: Registry;
}

/** `true` when metrics get their own server (different ports; two ephemeral ports are two servers). */
function separateMetrics(config: NmiConfig): boolean {
  return config.prometheusPort !== config.probePort || config.probePort === 0;
}

/** Resolves `promise` or gives up after `ms` (then reports `false`). */
async function within(promise: Promise<unknown>, ms: number, clock: ClockPort): Promise<boolean> {
  let timer: { cancel(): void } | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = clock.setTimer(ms, () => resolve(false));
  });
  const done = await Promise.race([promise.then(() => true), timeout]);
  timer?.cancel();
  return done;
}

/** Composes NMI from `config` and the adapter factories. Nothing listens until `start()`. */
export function composeNmi(config: NmiConfig, adapters: NmiAdapters, options: ComposeNmiOptions = {}): NmiRuntime {
  // ── logging and metrics ──
  const logging = options.pino === undefined ? createNmiLogging({ level: config.logLevel, base: { node: config.nodeName } }) : undefined;
  const pino = options.pino ?? logging?.pino ?? silentPino();
  const logger = pinoLoggerPort(pino);
  const audit = options.audit ?? logging?.audit ?? loggerAuditWriter(logger.child({ server: "nmi" }));
  const registry = options.registry ?? new Registry();
  const metrics = new PromMetrics(NMI_METRIC_DEFINITIONS, registry);
  const clock = adapters.clock ?? systemClock;

  // ── adapters ──
  const context: NmiAdapterContext = { config, logger, clock, metrics };
  const kube = adapters.kubeReader(context);
  const tokenSource = adapters.tokenSource(context);
  const netfilter = adapters.netfilter(context);
  const forwarder = adapters.forwarder?.(context);
  const events = adapters.events?.(context);
  const secretProviderClasses = config.hostToken === "scoped" ? adapters.secretProviderClasses?.(context) : undefined;
  const serviceAccountTokens = adapters.serviceAccountTokens?.(context);
  // Anti-spoofing guards the intercepted packet path; with `--interception=none` there is none to guard (the
  // demo's pods share the host's loopback), so attribution stays by source IP there.
  const antiSpoofing = config.antiSpoofing && config.interception === "iptables" ? adapters.antiSpoofing?.(context) : undefined;
  // The resolved-interface state attribution consults: until the first sync no pod is attributable.
  const callerInterfaces = antiSpoofing === undefined ? undefined : new CallerInterfaces();

  // ── token server ── (no fastify logger: NMI logs its refusals and failures itself, see createNmiServer)
  const tokenServer = createNmiServer(config, {
    kube,
    tokenSource,
    clock,
    logger: logger.child({ server: "nmi" }),
    audit,
    metrics,
    ...(forwarder !== undefined ? { forwarder } : {}),
    ...(events !== undefined ? { events } : {}),
    ...(callerInterfaces !== undefined ? { callerInterfaces } : {}),
    ...(secretProviderClasses !== undefined ? { secretProviderClasses } : {}),
    ...(serviceAccountTokens !== undefined ? { serviceAccountTokens } : {}),
  });
  const spoofKeeper =
    antiSpoofing === undefined || callerInterfaces === undefined
      ? undefined
      : new AntiSpoofingKeeper({
          port: antiSpoofing,
          state: callerInterfaces,
          kube,
          nodeName: config.nodeName,
          clock,
          logger,
          metrics,
          ...(events !== undefined ? { events } : {}),
          intervalMs: config.iptUpdateIntervalSec * 1000,
        });

  // ── interception keeper ── (built at start: the DNAT target is the port actually bound)
  let keeper: InterceptionKeeper | undefined;
  let nmiListening = false;
  const extraListeners: ExtraListener[] = [];
  let kubeStarted = false;
  let stopping: Promise<void> | undefined;

  // ── probe server (and metrics, on their own port unless it is the probe port) ──
  const probes = {
    // `/healthz` says "Active" once the rules were installed, as the original's `Initialized`.
    active: () => keeper?.installed ?? false,
    readiness: [
      { name: "interception", ok: () => keeper?.intact ?? false },
      { name: "informers-synced", ok: () => kube.hasSynced() },
      { name: "token-server", ok: () => nmiListening && stopping === undefined },
    ],
  };
  const probeApp = buildProbeApp({ probes, logger: pino, ...(separateMetrics(config) ? {} : { metrics: { registry } }) });
  const metricsApp = separateMetrics(config) ? buildProbeApp({ metrics: { registry }, logger: pino }) : undefined;

  const start = async (): Promise<NmiAddresses> => {
    const probe = await listenOn(probeApp, config.probeListenAddress, config.probePort);
    const metricsAddress = metricsApp === undefined ? undefined : await listenOn(metricsApp, config.probeListenAddress, config.prometheusPort);
    logger.info({ probe: probe.port, metrics: metricsAddress?.port ?? probe.port }, "probe and metrics servers listening");
    kubeStarted = true;
    await kube.start?.();
    // The node is on every line already (the logger's base); naming it again would repeat the key.
    logger.info({ mode: config.operationMode }, "caches synced");
    const [primary = config.listenAddress, ...others] = listenAddressesFrom(config);
    const nmi = await listenOn(tokenServer.app, primary, config.port);
    nmiListening = true;
    // 127.0.0.1 next to the node IP, for `/host/token` callers on the node (same port, same server).
    for (const address of others) extraListeners.push(await listenAlso(tokenServer.app.server, address, nmi.port));
    logger.info({ address: nmi.address, port: nmi.port, also: others }, "token server listening");
    // Installed only once NMI listens, so redirected pod traffic always finds it.
    keeper = new InterceptionKeeper({
      netfilter,
      spec: interceptionSpecFrom({ ...config, port: nmi.port }),
      clock,
      logger,
      metrics,
      intervalMs: config.iptUpdateIntervalSec * 1000,
    });
    const installed = await keeper.start();
    if (!installed.ok) {
      // One line (runDaemon prints it on stderr): the adapter's message names the fix, e.g. route_localnet.
      const reason = installed.error.kind === "commandFailed" ? `${installed.error.stderr} (exit ${String(installed.error.exitCode)})` : installed.error.message;
      throw new Error(`cannot install the metadata interception: ${reason.replace(/\s*\n\s*/g, "; ")}`);
    }
    // Anti-spoofing: bind pod IPs to their interfaces and install the drop rules (pods are refused until then).
    await spoofKeeper?.start();
    return { nmi, probe, ...(metricsAddress !== undefined ? { metrics: metricsAddress } : {}) };
  };

  const drain = async (reason: string): Promise<void> => {
    logger.info({ reason }, "shutting down: draining token requests");
    const graceMs = config.shutdownTimeoutSec * 1000;
    for (const listener of extraListeners.splice(0)) await listener.close();
    if (nmiListening) {
      const drained = await within(tokenServer.app.close(), graceMs, clock);
      if (!drained) logger.warn({ graceMs }, "drain timed out; remaining connections are dropped");
    }
    nmiListening = false;
    // `remove` only after a healthy start (rules installed): a NMI that never got there leaves pods blocked.
    if (keeper !== undefined) await keeper.release(config.interceptionRelease === "remove" && keeper.installed ? "remove" : "failClosed");
    await spoofKeeper?.stop(config.interceptionRelease === "remove" && keeper?.installed === true ? "remove" : "failClosed");
    if (kubeStarted) await kube.stop?.();
    if (metricsApp !== undefined) await metricsApp.close();
    await probeApp.close();
    logger.info({}, "handled termination");
    audit.flush();
    pino.flush();
  };

  return {
    config,
    tokenServer,
    logger,
    start,
    stop: (reason = "stop requested") => (stopping ??= drain(reason)),
  };
}
