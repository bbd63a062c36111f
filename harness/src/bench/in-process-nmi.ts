/**
 * NMI's token server in the bench's own process, on testkit's in-memory fakes and a virtual clock, counting the
 * token source's upstream fetches: how the benches measure cache behaviour over token lifetimes that a real
 * process could only reach in days. Every request is a token request NMI answers itself; nothing is forwarded.
 * @packageDocumentation
 */
import type { AddressInfo } from "node:net";
import { err, type SecretProviderClassReaderPort, type TokenSourcePort } from "@podid/core";
import { pinoLoggerPort, PromMetrics } from "@podid/daemon-shell";
import { createNmiLogging, createNmiServer, defineNmiConfig, NMI_METRIC_DEFINITIONS, type ImdsForwarder, type NmiConfigInput } from "@podid/nmi-server";
import { FakeCluster, FakeTokenSource, VirtualClock } from "@podid/testkit";

/** The forwarder of an NMI that must never forward. */
const UNREACHABLE_IMDS: ImdsForwarder = {
  forward: async () => err({ kind: "upstreamFailed", message: "the benchmark forwards nothing" }),
  close: () => undefined,
};

/** A started in-process NMI. */
export interface InProcessNmi {
  readonly port: number;
  readonly clock: VirtualClock;
  readonly cluster: FakeCluster;
  /** Issues the tokens; `allow` each identity the cluster uses. */
  readonly tokens: FakeTokenSource;
  /** Upstream token fetches so far. */
  fetches(): number;
  close(): Promise<void>;
}

/** Options of {@link startInProcessNmi}. */
export interface InProcessNmiOptions {
  readonly config: NmiConfigInput;
  readonly tokenLifetimeSeconds: number;
  /** Real latency of each upstream fetch, so concurrent misses really overlap (default 0). */
  readonly upstreamLatencyMs?: number;
  readonly secretProviderClasses?: SecretProviderClassReaderPort;
}

/** Starts NMI's token server on 127.0.0.1 (ephemeral port) with silent logs. */
export async function startInProcessNmi(options: InProcessNmiOptions): Promise<InProcessNmi> {
  const clock = new VirtualClock({ startMs: Date.now() });
  const cluster = new FakeCluster({ clock });
  const tokens = new FakeTokenSource({ clock, tokenLifetimeSeconds: options.tokenLifetimeSeconds });
  let fetches = 0;
  const tokenSource: TokenSourcePort = {
    acquire: async (req, signal) => {
      fetches += 1;
      if ((options.upstreamLatencyMs ?? 0) > 0) await new Promise((r) => setTimeout(r, options.upstreamLatencyMs));
      return tokens.acquire(req, signal);
    },
  };
  const logging = createNmiLogging({ level: "silent" });
  const { app } = createNmiServer(defineNmiConfig(options.config), {
    kube: cluster,
    tokenSource,
    clock,
    logger: pinoLoggerPort(logging.pino),
    audit: logging.audit,
    metrics: new PromMetrics(NMI_METRIC_DEFINITIONS),
    forwarder: UNREACHABLE_IMDS,
    ...(options.secretProviderClasses !== undefined ? { secretProviderClasses: options.secretProviderClasses } : {}),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return { port: (app.server.address() as AddressInfo).port, clock, cluster, tokens, fetches: () => fetches, close: () => app.close() };
}
