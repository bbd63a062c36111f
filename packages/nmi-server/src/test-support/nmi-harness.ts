import { err, ok, type ServiceAccountTokenReaderPort } from "@podid/core";
import {
  FakeCluster,
  FakeSecretProviderClassReader,
  FakeTokenSource,
  RecordingLogger,
  RecordingMetrics,
  TEST_NODE,
  VirtualClock,
  type FakeIdentityCatalog,
} from "@podid/testkit";
import { defineNmiConfig, type NmiConfig, type NmiConfigInput } from "../config/nmi-config.js";
import type { ForwardedResponse, ForwardRequest, ImdsForwarder } from "../imds-forwarder.js";
import { createNmiServer, type NmiApp } from "../token-path/1-http-entry.js";
import type { NmiEngine } from "../token-path/2-routes.js";

/**
 * A ready-made NMI app on testkit's fakes for nmi-server's own tests (not built, not shipped). The cluster
 * object builders (`makePod`, `bindPod`, `tokenUrl`, …) come from `@podid/testkit`.
 * @packageDocumentation
 */

/** A forwarder that records requests and answers `200 {"proxied":true}` (or what `answer` returns). */
export class RecordingForwarder implements ImdsForwarder {
  /** Every forwarded request, oldest first. */
  readonly requests: ForwardRequest[] = [];
  readonly #answer: (request: ForwardRequest) => ForwardedResponse | undefined;

  /** `answer` may return `undefined` to simulate an unreachable IMDS. */
  constructor(answer?: (request: ForwardRequest) => ForwardedResponse | undefined) {
    this.#answer =
      answer ??
      (() => ({ status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: new TextEncoder().encode('{"proxied":true}') }));
  }

  /** Records `request` and answers it (or fails as an unreachable IMDS would). */
  async forward(request: ForwardRequest) {
    this.requests.push(request);
    const response = this.#answer(request);
    return response === undefined ? err({ kind: "upstreamFailed" as const, message: "connect ECONNREFUSED" }) : ok(response);
  }

  /** Nothing to release. */
  close(): void {}
}

/** Everything a test needs: the fakes, the app and the recorders. */
export interface NmiHarness {
  readonly cluster: FakeCluster;
  readonly tokens: FakeTokenSource;
  readonly clock: VirtualClock;
  readonly logger: RecordingLogger;
  readonly metrics: RecordingMetrics;
  readonly forwarder: RecordingForwarder;
  readonly secretProviderClasses: FakeSecretProviderClassReader;
  readonly config: NmiConfig;
  readonly app: NmiApp;
  readonly engine: NmiEngine;
}

/** Options of {@link createHarness}. */
export interface HarnessOptions {
  readonly config?: Partial<NmiConfigInput>;
  readonly forwarder?: RecordingForwarder;
  /** Latency of every token-source answer, in virtual ms (default 0). */
  readonly tokenLatencyMs?: number;
  readonly tokenLifetimeSeconds?: number;
  /**
   * Forward over real HTTP to `config.metadataAddress:metadataPort` (a loopback stand-in) instead of the
   * recording forwarder (which then stays empty).
   */
  readonly httpForwarding?: boolean;
  /** Identities (and their federated credentials) the token source knows, for federated (type 3) requests. */
  readonly catalog?: FakeIdentityCatalog;
  /** Reads pods' projected service-account tokens (federated identities); default: none. */
  readonly serviceAccountTokens?: ServiceAccountTokenReaderPort;
}

/** An NMI app over a FakeCluster, a FakeTokenSource (allow-set mode) and a VirtualClock. */
export function createHarness(options: HarnessOptions = {}): NmiHarness {
  const clock = new VirtualClock();
  const cluster = new FakeCluster({ clock });
  const tokens = new FakeTokenSource({
    clock,
    ...(options.tokenLatencyMs !== undefined ? { latencyMs: options.tokenLatencyMs } : {}),
    ...(options.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
    ...(options.catalog !== undefined ? { catalog: options.catalog } : {}),
  });
  const logger = new RecordingLogger({ clock });
  const metrics = new RecordingMetrics();
  const forwarder = options.forwarder ?? new RecordingForwarder();
  const config = defineNmiConfig({ nodeName: TEST_NODE, ...(options.config ?? {}) });
  const secretProviderClasses = new FakeSecretProviderClassReader();
  const ports = {
    kube: cluster,
    tokenSource: tokens,
    clock,
    logger,
    metrics,
    secretProviderClasses,
    ...(options.serviceAccountTokens !== undefined ? { serviceAccountTokens: options.serviceAccountTokens } : {}),
  };
  const { app, engine } = createNmiServer(config, options.httpForwarding === true ? ports : { ...ports, forwarder });
  return { cluster, tokens, clock, logger, metrics, forwarder, secretProviderClasses, config, app, engine };
}
