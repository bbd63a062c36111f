import type { AddressInfo } from "node:net";
import { Container } from "inversify";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import type { ClockPort, LoggerPort, MetricsPort, NetfilterPort, TokenSourcePort } from "@podid/core";
import { buildNmiApp, type NmiApp } from "../app/build-nmi-app.js";
import { appConfigFrom, interceptionSpecFrom, type NmiConfig } from "../config/nmi-config.js";
import { loggerAuditWriter, type AuditWriter } from "../app/audit-writer.js";
import { createNmiLogging, pinoLoggerPort, silentPino } from "../observability/pino-logger.js";
import { NMI_METRIC_DEFINITIONS } from "../observability/nmi-metrics.js";
import { PromMetrics } from "../observability/prom-metrics.js";
import { buildProbeApp } from "../probes/build-probe-app.js";
import { InterceptionKeeper } from "../probes/interception-keeper.js";
import { createHttpForwarder, type ImdsForwarder } from "../proxy/http-forwarder.js";
import type { NmiAdapterContext, NmiAdapters, NmiKubeReader } from "./nmi-adapters.js";
import { NMI_SERVICE } from "./service-ids.js";
import { systemClock } from "@podid/adapter-k8s";

/**
 * `composeNmi`: NMI's composition root. Binds core's ports (from the adapter factories it is given) and
 * NMI's own services in an inversify container — `toConstantValue`/`toResolvedValue` only, no decorators —
 * and returns a runtime with the start-up and SIGTERM sequences.
 * @packageDocumentation
 */

/** Where the servers listen once started. */
export interface NmiAddresses {
  readonly nmi: AddressInfo;
  readonly probe: AddressInfo;
  /** Absent when metrics share the probe port. */
  readonly metrics?: AddressInfo;
}

/** A composed NMI. */
export interface NmiRuntime {
  readonly container: Container;
  /** Starts in the original's order: probes, caches synced, token server, interception. Throws when a step fails. */
  start(): Promise<NmiAddresses>;
  /**
   * The SIGTERM drain: stop accepting and answer waiting requests 503, let in-flight requests finish
   * (bounded by `--graceful-shutdown-timeout-sec`), release the interception per `--interception-release`,
   * stop the caches, close the probe and metrics servers last. Safe to call more than once.
   */
  stop(reason?: string): Promise<void>;
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

const ID = NMI_SERVICE;

/** Binds everything; nothing is constructed until resolved. */
function bindAll(container: Container, config: NmiConfig, adapters: NmiAdapters, options: ComposeNmiOptions): void {
  container.bind(ID.Config).toConstantValue(config);
  container.bind(ID.Clock).toConstantValue(adapters.clock ?? systemClock);
  const logging = options.pino === undefined ? createNmiLogging({ level: config.logLevel, base: { node: config.nodeName } }) : undefined;
  const pinoLogger = options.pino ?? logging?.pino ?? silentPino();
  container.bind(ID.Pino).toConstantValue(pinoLogger);
  container.bind(ID.Logger).toResolvedValue((pino: Logger) => pinoLoggerPort(pino), [ID.Pino]);
  container
    .bind(ID.Audit)
    .toResolvedValue((logger: LoggerPort) => options.audit ?? logging?.audit ?? loggerAuditWriter(logger.child({ server: "nmi" })), [ID.Logger]);
  container.bind(ID.Registry).toConstantValue(options.registry ?? new Registry());
  container.bind(ID.Metrics).toResolvedValue((registry: Registry) => new PromMetrics(NMI_METRIC_DEFINITIONS, registry), [ID.Registry]);
  container
    .bind(ID.AdapterContext)
    .toResolvedValue(
      (cfg: NmiConfig, logger: LoggerPort, clock: ClockPort, metrics: MetricsPort): NmiAdapterContext => ({ config: cfg, logger, clock, metrics }),
      [ID.Config, ID.Logger, ID.Clock, ID.Metrics],
    );
  container.bind(ID.KubeReader).toResolvedValue((ctx: NmiAdapterContext) => adapters.kubeReader(ctx), [ID.AdapterContext]);
  container.bind(ID.TokenSource).toResolvedValue((ctx: NmiAdapterContext) => adapters.tokenSource(ctx), [ID.AdapterContext]);
  container.bind(ID.Netfilter).toResolvedValue((ctx: NmiAdapterContext) => adapters.netfilter(ctx), [ID.AdapterContext]);
  container.bind(ID.Forwarder).toResolvedValue(
    (ctx: NmiAdapterContext) =>
      adapters.forwarder?.(ctx) ?? createHttpForwarder({ address: ctx.config.metadataAddress, port: ctx.config.metadataPort, timeoutMs: 30_000 }),
    [ID.AdapterContext],
  );
  container
    .bind(ID.NmiServer)
    .toResolvedValue(
      (
        cfg: NmiConfig,
        kube: NmiKubeReader,
        tokenSource: TokenSourcePort,
        clock: ClockPort,
        logger: LoggerPort,
        metrics: MetricsPort,
        forwarder: ImdsForwarder,
        audit: AuditWriter,
      ) =>
        // No fastify logger on the token server: NMI logs its refusals and failures itself (see buildNmiApp).
        ({ app: buildNmiApp({ kube, tokenSource, clock, logger: logger.child({ server: "nmi" }), audit, metrics, forwarder }, appConfigFrom(cfg)) }),
      [ID.Config, ID.KubeReader, ID.TokenSource, ID.Clock, ID.Logger, ID.Metrics, ID.Forwarder, ID.Audit],
    );
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

/**
 * Composes NMI from `config` and the adapter factories. The later phase passes adapter-k8s, adapter-azure
 * and adapter-iptables here; tests pass testkit's FakeCluster, FakeTokenSource and FakeNetfilter.
 */
export function composeNmi(config: NmiConfig, adapters: NmiAdapters, options: ComposeNmiOptions = {}): NmiRuntime {
  const container = new Container({ defaultScope: "Singleton" });
  bindAll(container, config, adapters, options);
  const logger = container.get(ID.Logger);
  const clock = container.get(ID.Clock);
  const metrics = container.get(ID.Metrics);
  let keeper: InterceptionKeeper | undefined;
  let nmiListening = false;
  let kubeStarted = false;
  let stopping: Promise<void> | undefined;

  const kube = (): NmiKubeReader => container.get(ID.KubeReader);
  const nmiApp = (): NmiApp => container.get(ID.NmiServer).app;
  const probes = {
    interceptionInstalled: () => keeper?.installed ?? false,
    readiness: [
      { name: "interception", ok: () => keeper?.intact ?? false },
      { name: "informers-synced", ok: () => kube().hasSynced() },
      { name: "token-server", ok: () => nmiListening && stopping === undefined },
    ],
  };
  const registry = container.get(ID.Registry);
  const pino = container.get(ID.Pino);
  container.bind(ID.ProbeServer).toConstantValue({ app: buildProbeApp({ probes, pino, ...(separateMetrics(config) ? {} : { metrics: registry }) }) });
  container.bind(ID.MetricsServer).toConstantValue({ app: separateMetrics(config) ? buildProbeApp({ metrics: registry, pino }) : undefined });

  const listen = async (app: FastifyInstance, host: string, port: number): Promise<AddressInfo> => {
    await app.listen({ host, port });
    return app.server.address() as AddressInfo;
  };

  const start = async (): Promise<NmiAddresses> => {
    const probe = await listen(container.get(ID.ProbeServer).app, config.probeListenAddress, config.probePort);
    const metricsApp = container.get(ID.MetricsServer).app;
    const metricsAddress = metricsApp === undefined ? undefined : await listen(metricsApp, config.probeListenAddress, config.prometheusPort);
    logger.info({ probe: probe.port, metrics: metricsAddress?.port ?? probe.port }, "probe and metrics servers listening");
    kubeStarted = true;
    await kube().start?.();
    logger.info({ node: config.nodeName, mode: config.operationMode }, "caches synced");
    const nmi = await listen(nmiApp(), config.listenAddress, config.port);
    nmiListening = true;
    logger.info({ address: nmi.address, port: nmi.port }, "token server listening");
    // The DNAT target is the port actually bound (differs from the flag only with port 0 in tests).
    keeper = new InterceptionKeeper({
      netfilter: container.get(ID.Netfilter) as NetfilterPort,
      spec: interceptionSpecFrom({ ...config, port: nmi.port }),
      clock,
      logger,
      metrics,
      intervalMs: config.iptUpdateIntervalSec * 1000,
    });
    const installed = await keeper.start();
    if (!installed.ok) throw new Error(`cannot install the metadata interception: ${JSON.stringify(installed.error)}`);
    return { nmi, probe, ...(metricsAddress !== undefined ? { metrics: metricsAddress } : {}) };
  };

  const drain = async (reason: string): Promise<void> => {
    logger.info({ reason }, "shutting down: draining token requests");
    const graceMs = config.shutdownTimeoutSec * 1000;
    if (nmiListening) {
      const drained = await within(nmiApp().close(), graceMs, clock);
      if (!drained) logger.warn({ graceMs }, "drain timed out; remaining connections are dropped");
    }
    nmiListening = false;
    if (keeper !== undefined) {
      const mode = config.interceptionRelease === "remove" ? "remove" : "failClosed";
      await keeper.release(mode);
    }
    if (kubeStarted) await kube().stop?.();
    const metricsApp = container.get(ID.MetricsServer).app;
    if (metricsApp !== undefined) await metricsApp.close();
    await container.get(ID.ProbeServer).app.close();
    logger.info({}, "handled termination");
    container.get(ID.Audit).flush();
    pino.flush();
  };

  return {
    container,
    start,
    stop: (reason = "stop requested") => (stopping ??= drain(reason)),
  };
}
