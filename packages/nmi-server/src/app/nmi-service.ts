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
import type { AuditFacts } from "./audit.js";
import { loggerAuditWriter, type AuditWriter } from "./audit-writer.js";
import { ClusterView } from "./cluster-view.js";
import type { FlowContext, FlowRequest, FlowResult, Trace } from "./flow-context.js";
import { serveForward } from "./forward-flow.js";
import type { NmiAppConfig } from "./nmi-app-config.js";
import { DecisionMemo, type MemoKey } from "./decision-memo.js";
import { RequestSignal, type OnClientGone } from "./request-signal.js";
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
  /** Where audit records go (default: one `info` line each through `logger`). */
  readonly audit?: AuditWriter;
}

/** A request to serve. */
export interface NmiRequest {
  readonly requestId: string;
  readonly method: string;
  readonly rawTarget: string;
  readonly headers: HttpHeaders;
  readonly remoteAddress: string;
  readonly body?: Uint8Array;
  /**
   * Subscribes to the client going away before its answer is sent. Called only by flows that wait
   * (assignment waits, forwarding), so an answer from the token cache never pays for a listener.
   */
  readonly onClientGone: OnClientGone;
}

/** What to send back. */
export type NmiReply =
  | { readonly kind: "imds"; readonly response: ImdsResponse; readonly closeConnection: boolean }
  | { readonly kind: "forwarded"; readonly response: ForwardedResponse };

/** The reply and the audit record of one request. */
export interface ServedRequest {
  readonly reply: NmiReply;
  /** The facts of its audit record (`buildAuditRecord` renders them as the record). */
  readonly audit: AuditFacts;
}

/** `status_code` label values (HTTP statuses are few; the common ones are interned here). */
const STATUS_LABELS = new Map<number, string>();

/** The `status_code` label of a status. */
function statusLabel(status: number): string {
  let label = STATUS_LABELS.get(status);
  if (label === undefined) {
    label = String(status);
    if (STATUS_LABELS.size < 1000) STATUS_LABELS.set(status, label);
  }
  return label;
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
const SHUTTING_DOWN_RESULT: FlowResult = {
  kind: "outcome",
  outcome: { kind: "tokenFailed", error: { kind: "unavailable", message: "NMI is shutting down; retry" } },
};

/** A request as the flows see it; its `signal` is built on first use (see {@link RequestSignal}). */
class ServedFlowRequest implements FlowRequest {
  readonly method: string;
  readonly rawTarget: string;
  readonly headers: HttpHeaders;
  readonly remoteAddress: string;
  readonly body?: Uint8Array;
  readonly shutdownSignal: AbortSignal;
  readonly #lifetime: RequestSignal;

  constructor(request: NmiRequest, lifetime: RequestSignal, shutdownSignal: AbortSignal) {
    this.method = request.method;
    this.rawTarget = request.rawTarget;
    this.headers = request.headers;
    this.remoteAddress = request.remoteAddress;
    if (request.body !== undefined) this.body = request.body;
    this.shutdownSignal = shutdownSignal;
    this.#lifetime = lifetime;
  }

  get signal(): AbortSignal {
    return this.#lifetime.signal;
  }
}

/** The engine. Build with the ports and the app configuration; {@link close} when done. */
export class NmiService {
  readonly #deps: NmiServiceDeps;
  readonly #audit: AuditWriter;
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
    this.#audit = deps.audit ?? loggerAuditWriter(deps.logger);
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

  /**
   * Serves one request and records it. Never throws for anything a client can send. A memoised token
   * request answered from the token cache completes synchronously (the common case, with no promise in
   * between); everything else returns a promise.
   */
  serve(request: NmiRequest): ServedRequest | Promise<ServedRequest> {
    const startedMs = this.#deps.clock.now();
    const trace: Trace = {};
    // A request identical to one decided since the caches last changed reuses that decision.
    const memoKey = this.#memoise ? tokenMemoKey(this.#ctx, request) : undefined;
    const memoised = memoKey === undefined ? undefined : this.#ctx.memo.get(memoKey);
    const route: RequestRoute = memoised !== undefined ? MEMOISED_ROUTE : classifyRequestPath(request.rawTarget);
    if (this.#shutdown.signal.aborted) return this.#finish(request, route, SHUTTING_DOWN_RESULT, trace, startedMs);
    // Aborted by the client's disconnect or by shutdown; built only if a flow waits. (Never
    // `AbortSignal.any`: it registers every combined signal on the long-lived shutdown signal, which
    // made each request cost time proportional to all earlier ones.)
    const lifetime = new RequestSignal(request.onClientGone, this.#shutdown.signal, this.#active);
    const flowRequest = new ServedFlowRequest(request, lifetime, this.#shutdown.signal);
    let pending: FlowResult | Promise<FlowResult>;
    try {
      pending = memoised !== undefined ? serveMemoised(this.#ctx, flowRequest, memoised, trace) : this.#route(route, flowRequest, trace, memoKey);
    } catch (error) {
      lifetime.dispose();
      throw error;
    }
    if (pending instanceof Promise) {
      return pending.finally(() => lifetime.dispose()).then((result) => this.#finish(request, route, result, trace, startedMs));
    }
    lifetime.dispose();
    return this.#finish(request, route, pending, trace, startedMs);
  }

  /** The reply to a served request; writes its audit record and metrics. */
  #finish(request: NmiRequest, route: RequestRoute, result: FlowResult, trace: Trace, startedMs: number): ServedRequest {
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
    const subject = trace.subject;
    const audit: AuditFacts = {
      requestId: request.requestId,
      method: request.method,
      route: route.route,
      path: route.route === "proxy" || route.route === "instance" ? route.path.slice(0, 256) : undefined,
      sourceIp: request.remoteAddress,
      subject,
      pod: trace.pod,
      identity: trace.identity,
      clientId: trace.clientId,
      resource: trace.resource,
      decision,
      reason,
      status,
      cache: trace.cache,
      upstreamMs: trace.upstreamMs,
      waitedMs: trace.waitedMs,
      durationMs: this.#deps.clock.now() - startedMs,
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
    this.#audit.flush();
  }

  async #route(route: RequestRoute, request: FlowRequest, trace: Trace, memoKey: MemoKey | undefined): Promise<FlowResult> {
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

  #record(route: RequestRoute, audit: AuditFacts, trace: Trace): void {
    const { metrics } = this.#deps;
    this.#audit.write(audit);
    const namespace = audit.subject?.podNamespace ?? audit.pod?.namespace ?? "";
    const resource = audit.subject?.resource ?? audit.resource ?? "";
    metrics.observe(
      METRIC.nmiOperationsDuration,
      {
        operation_type: operationOf(route.route),
        status_code: statusLabel(audit.status),
        namespace: this.#namespaceLabel.of(namespace),
        resource: audit.status === 200 ? this.#resourceLabel.of(resource) : "",
      },
      audit.durationMs / 1000,
    );
    metrics.increment(NMI_METRIC.decisions, { decision: audit.decision });
    if (trace.waitOutcome !== undefined && trace.waitedMs !== undefined) {
      metrics.observe(NMI_METRIC.assignmentWait, { outcome: trace.waitOutcome }, trace.waitedMs / 1000);
    }
  }
}
