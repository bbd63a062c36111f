import {
  classifyRequestPath,
  decideRejectedPath,
  isFinalDecision,
  METRIC,
  NMI_OPERATION,
  toImdsResponse,
  type AzureIdentity,
  type ClockPort,
  type HttpHeaders,
  type ImdsResponse,
  type KubeReaderPort,
  type LoggerPort,
  type MetricsPort,
  type NmiOutcome,
  type RequestRoute,
  type ResourceEvent,
  type TokenSourcePort,
  type Unsubscribe,
} from "@podid/core";
import { PodRateGate } from "../cache/pod-rate-gate.js";
import { TokenCacheDriver } from "../cache/token-cache-driver.js";
import { UpstreamGate } from "../cache/upstream-gate.js";
import { BoundedLabel } from "../observability/bounded-label.js";
import { NMI_METRIC } from "../observability/nmi-metrics.js";
import type { ForwardedResponse, ImdsForwarder } from "../proxy/http-forwarder.js";
import { AssignmentWatch } from "./assignment-watch.js";
import { podFields, writeAudit, type AuditRecord } from "./audit.js";
import { ClusterView } from "./cluster-view.js";
import type { FlowContext, FlowRequest, FlowResult, Trace } from "./flow-context.js";
import { serveForward } from "./forward-flow.js";
import type { NmiAppConfig } from "./nmi-app-config.js";
import { DecisionMemo } from "./decision-memo.js";
import { identityCacheKey, serveHostToken, serveMemoised, serveToken, tokenMemoKey, type MemoisedDecision } from "./token-flow.js";
import { TokenFetcher } from "./token-fetcher.js";

/**
 * The NMI engine behind the HTTP server: one entry point, {@link NmiService.serve}, that classifies the raw
 * request target with core and runs the matching flow, then writes the audit record and metrics. It owns
 * the cache, the upstream gate, the per-pod limiter and the watch subscriptions.
 * @packageDocumentation
 */

/** The ports the engine runs on. */
export interface NmiServiceDeps {
  readonly kube: KubeReaderPort;
  readonly tokenSource: TokenSourcePort;
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  readonly metrics: MetricsPort;
  readonly forwarder: ImdsForwarder;
}

/** A request to serve. */
export interface NmiRequest {
  readonly requestId: string;
  readonly method: string;
  readonly rawTarget: string;
  readonly headers: HttpHeaders;
  readonly remoteAddress: string;
  readonly body?: Uint8Array;
  /** Aborts when the client disconnects. */
  readonly signal: AbortSignal;
  /**
   * The controller behind `signal`, when the caller owns one: the engine then aborts it on shutdown
   * directly instead of chaining a controller of its own to `signal` (one fewer per request).
   */
  readonly controller?: AbortController;
}

/** What to send back. */
export type NmiReply =
  | { readonly kind: "imds"; readonly response: ImdsResponse; readonly closeConnection: boolean }
  | { readonly kind: "forwarded"; readonly response: ForwardedResponse };

/** The reply and the audit record of one request. */
export interface ServedRequest {
  readonly reply: NmiReply;
  readonly audit: AuditRecord;
}

/** The `operation_type` label of a route (a fixed set; the original used the raw path). */
function operationOf(route: RequestRoute["route"]): string {
  return NMI_OPERATION[route];
}

/** Kind of reason carried by an outcome, for the audit record. */
function reasonOf(outcome: NmiOutcome): string | undefined {
  switch (outcome.kind) {
    case "badRequest":
      return outcome.reason.kind === "rejectedPath" ? `rejectedPath:${outcome.reason.reason}` : outcome.reason.kind;
    case "callerUnknown":
      return outcome.error.kind;
    case "hostTokenDenied":
      return outcome.reason;
    case "notFound":
      return outcome.reason.kind;
    case "invalidIdentity":
      return outcome.reason;
    case "tokenFailed":
      return outcome.error.kind;
    case "secretFailed":
      return outcome.failure.kind;
    default:
      return undefined;
  }
}

/** The route recorded for a memoised request (always the token path; its query is not needed again). */
const MEMOISED_ROUTE: RequestRoute = { route: "token", query: new Map() };

/** The answer to every request once shutdown has begun. */
const SHUTTING_DOWN: NmiOutcome = { kind: "tokenFailed", error: { kind: "unavailable", message: "NMI is shutting down; retry" } };

/** The engine. Build with the ports and the app configuration; {@link close} when done. */
export class NmiService {
  readonly #deps: NmiServiceDeps;
  readonly #ctx: FlowContext;
  readonly #cache: TokenCacheDriver;
  readonly #gate: UpstreamGate;
  readonly #shutdown = new AbortController();
  /** Controllers of the requests being served (aborted on shutdown). */
  readonly #active = new Set<AbortController>();
  readonly #unsubscribe: Unsubscribe[] = [];
  readonly #namespaceLabel = new BoundedLabel(200);
  readonly #resourceLabel = new BoundedLabel(50);
  readonly #memoise: boolean;

  /** Wires the engine and subscribes to pod, AzureAssignedIdentity and AzureIdentity changes. */
  constructor(deps: NmiServiceDeps, config: NmiAppConfig) {
    this.#deps = deps;
    this.#memoise = config.memoiseDecisions;
    const { clock, metrics, logger, kube } = deps;
    const view = new ClusterView(kube, config);
    const watch = new AssignmentWatch(clock);
    const podRate = new PodRateGate(clock, config.podRateLimit);
    this.#gate = new UpstreamGate(clock, config.upstreamBudget);
    this.#cache = new TokenCacheDriver(clock, config.tokenCache, {
      onRefreshFailure: (key, failure) =>
        logger.warn({ identity: key.identityKey, resource: key.resource, failure: failure.kind }, "background token refresh failed; the cached token is served until it expires"),
    });
    const fetcher = new TokenFetcher({ kube, tokenSource: deps.tokenSource, gate: this.#gate, clock, metrics, logger });
    const memo = new DecisionMemo<MemoisedDecision>();
    this.#ctx = { view, watch, cache: this.#cache, fetcher, podRate, forwarder: deps.forwarder, clock, metrics, options: config.decisions, memo };
    // Every change of an object a decision reads empties the decision memo first.
    this.#unsubscribe.push(
      kube.subscribe("pods", (event) => {
        memo.invalidate();
        view.podsChanged();
        watch.podChanged(event);
        if (event.type === "deleted" && event.object.metadata.uid !== undefined) podRate.forget(event.object.metadata.uid);
      }),
      kube.subscribe("azureassignedidentities", (event) => {
        memo.invalidate();
        watch.assignedIdentityChanged(event);
      }),
      kube.subscribe("azureidentities", (event) => {
        memo.invalidate();
        this.#identityChanged(event);
      }),
      kube.subscribe("azureidentitybindings", () => memo.invalidate()),
      kube.subscribe("azurepodidentityexceptions", () => memo.invalidate()),
    );
  }

  /** Requests waiting for an identity assignment right now. */
  get waiting(): number {
    return this.#ctx.watch.waiting;
  }

  /** Serves one request and records it. Never throws for anything a client can send. */
  async serve(request: NmiRequest): Promise<ServedRequest> {
    const { clock } = this.#deps;
    const startedMs = clock.now();
    const trace: Trace = {};
    // A request identical to one decided since the caches last changed reuses that decision.
    const memoKey = this.#memoise ? tokenMemoKey(this.#ctx, request) : undefined;
    const memoised = memoKey === undefined ? undefined : this.#ctx.memo.get(memoKey);
    const route: RequestRoute = memoised !== undefined ? MEMOISED_ROUTE : classifyRequestPath(request.rawTarget);
    let result: FlowResult;
    if (this.#shutdown.signal.aborted) {
      result = { kind: "outcome", outcome: SHUTTING_DOWN };
    } else {
      // One controller per request, aborted by the client's disconnect or by shutdown. (Not
      // `AbortSignal.any`: it registers every combined signal on the long-lived shutdown signal, which
      // made each request cost time proportional to all earlier ones.)
      const owned = request.controller !== undefined && request.controller.signal === request.signal;
      const combined = owned && request.controller !== undefined ? request.controller : new AbortController();
      const onDisconnect = (): void => combined.abort(request.signal.reason);
      if (!owned) request.signal.addEventListener("abort", onDisconnect, { once: true });
      this.#active.add(combined);
      const flowRequest: FlowRequest = {
        method: request.method,
        rawTarget: request.rawTarget,
        headers: request.headers,
        remoteAddress: request.remoteAddress,
        signal: combined.signal,
        shutdownSignal: this.#shutdown.signal,
        ...(request.body !== undefined ? { body: request.body } : {}),
      };
      try {
        result = memoised !== undefined ? await serveMemoised(this.#ctx, flowRequest, memoised, trace) : await this.#route(route, flowRequest, trace, memoKey);
      } finally {
        this.#active.delete(combined);
        if (!owned) request.signal.removeEventListener("abort", onDisconnect);
      }
    }
    const reply: NmiReply =
      result.kind === "forwarded"
        ? { kind: "forwarded", response: result.response }
        : {
            kind: "imds",
            response: result.kind === "outcome" ? toImdsResponse(result.outcome) : result.response,
            closeConnection: this.#shutdown.signal.aborted,
          };
    const status = reply.response.status;
    const decision = result.kind === "outcome" ? result.outcome.kind : result.kind === "forwarded" ? "forwarded" : result.decision;
    const reason = result.kind === "outcome" ? reasonOf(result.outcome) : undefined;
    const audit: AuditRecord = {
      requestId: request.requestId,
      route: route.route,
      method: request.method,
      ...(route.route === "proxy" || route.route === "instance" ? { path: route.path.slice(0, 256) } : {}),
      sourceIp: request.remoteAddress,
      ...podFields(trace.pod),
      ...(trace.identity !== undefined ? { identity: trace.identity } : {}),
      ...(trace.clientId !== undefined ? { clientId: trace.clientId } : {}),
      ...(trace.resource !== undefined ? { resource: trace.resource } : {}),
      decision,
      ...(reason !== undefined ? { reason } : {}),
      status,
      cacheHit: trace.cache === "hit" || trace.cache === "refresh",
      ...(trace.cache !== undefined ? { cache: trace.cache } : {}),
      ...(trace.upstreamMs !== undefined ? { upstreamMs: trace.upstreamMs } : {}),
      ...(trace.waitedMs !== undefined ? { waitedMs: trace.waitedMs } : {}),
      durationMs: clock.now() - startedMs,
    };
    this.#record(route, audit, trace);
    return { reply, audit };
  }

  /**
   * Begins shutdown: every waiting request is answered 503 (SDKs retry it) and every new one too, and
   * queued upstream calls are refused; requests already fetching a token complete.
   */
  beginShutdown(): void {
    const reason = new Error("NMI is shutting down");
    this.#shutdown.abort(reason);
    for (const controller of this.#active) controller.abort(reason);
    this.#gate.close();
  }

  /** Unsubscribes from the caches and aborts running fetches. */
  close(): void {
    if (!this.#shutdown.signal.aborted) this.beginShutdown();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#cache.close();
  }

  async #route(route: RequestRoute, request: FlowRequest, trace: Trace, memoKey: string | undefined): Promise<FlowResult> {
    switch (route.route) {
      case "rejected":
      {
        const decision = decideRejectedPath(route.reason);
        if (!isFinalDecision(decision)) throw new Error(`invariant: ${decision.kind} decision for a rejected path`);
        return { kind: "outcome", outcome: decision };
      }
      case "token":
        return serveToken(this.#ctx, request, route.query, trace, memoKey);
      case "hostToken":
        return serveHostToken(this.#ctx, request, route.query, trace);
      case "proxy":
      case "instance":
        return serveForward(this.#ctx, request, route);
    }
  }

  #identityChanged(event: ResourceEvent<AzureIdentity>): void {
    const { object, previous } = event;
    // Informer resyncs redeliver unchanged objects; only a real change (or a deletion) drops tokens.
    if (event.type === "modified" && previous !== undefined && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    if (event.type === "added") return;
    this.#cache.forget(identityCacheKey(object.metadata.namespace, object.metadata.name));
    this.#deps.logger.info(
      { identity: `${object.metadata.namespace}/${object.metadata.name}`, change: event.type },
      "AzureIdentity changed: its cached tokens were dropped",
    );
  }

  #record(route: RequestRoute, audit: AuditRecord, trace: Trace): void {
    const { metrics, logger } = this.#deps;
    writeAudit(logger, audit);
    metrics.observe(
      METRIC.nmiOperationsDuration,
      {
        operation_type: operationOf(route.route),
        status_code: String(audit.status),
        namespace: this.#namespaceLabel.of(audit.podNamespace ?? ""),
        resource: audit.status === 200 ? this.#resourceLabel.of(audit.resource ?? "") : "",
      },
      audit.durationMs / 1000,
    );
    metrics.increment(NMI_METRIC.decisions, { decision: audit.decision });
    if (trace.waitOutcome !== undefined && trace.waitedMs !== undefined) {
      metrics.observe(NMI_METRIC.assignmentWait, { outcome: trace.waitOutcome }, trace.waitedMs / 1000);
    }
  }
}
