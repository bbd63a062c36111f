import {
  classifyRequestPath,
  decideRequestLine,
  decideForwardRequest,
  decideRejectedPath,
  IMDS_CONTENT_TYPE,
  isFinalDecision,
  normalizeIpAddress,
  type AzureIdentity,
  type ClockPort,
  type EventRecorderPort,
  type HttpHeaders,
  type ImdsResponse,
  type KubeReaderPort,
  type LoggerPort,
  type MetricsPort,
  type NmiDecisionOptions,
  type PodView,
  type RequestRoute,
  type ResourceEvent,
  type SecretProviderClassReaderPort,
  type ServiceAccountTokenReaderPort,
  type TokenSourcePort,
  type Unsubscribe,
} from "@podid/core";
import { decisionOptionsFrom, type NmiConfig } from "../config/nmi-config.js";
import type { ImdsForwarder } from "../imds-forwarder.js";
import { NMI_METRIC } from "../nmi-metrics.js";
import type { CallerInterfaces } from "../anti-spoofing-keeper.js";
import { ClusterView, type PathRequest } from "./3-attribution.js";
import { AssignmentWatch, isMemoisable, memoKeyOf, serveHostToken, serveMemoised, serveToken, type DecisionParts } from "./4-decision.js";
import { cacheRequestCounters, DecisionMemo, identityCacheKey, PodRateGate, TokenCacheDriver, type MemoisedDecision, type MemoKey } from "./5-token-cache.js";
import { TokenFetcher, UpstreamGate } from "./6-upstream.js";
import {
  AuditSubjects,
  loggerAuditWriter,
  newTrace,
  RequestRecorder,
  SHUTTING_DOWN,
  type AuditWriter,
  type FlowResult,
  type ServedRequest,
  type Trace,
} from "./7-response-audit.js";

/**
 * Token path, step 2 of 8 — routes. {@link NmiEngine.serve} is the one entry behind the HTTP server: a
 * request identical to one already decided (same source address and raw target, unchanged caches) goes
 * straight to the memoised decision; any other has its raw target classified by core's
 * `classifyRequestPath` (token, host token, instance, proxy, or a rejected look-alike of a token path)
 * and runs that route's flow — the token routes through steps 3–6, the other routes forwarded to the
 * metadata endpoint here. Every request ends in step 7 (reply, audit record, metrics).
 * @packageDocumentation
 */

/** The ports the engine runs on. */
export interface NmiEnginePorts {
  readonly kube: KubeReaderPort;
  readonly tokenSource: TokenSourcePort;
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  readonly metrics: MetricsPort;
  readonly forwarder: ImdsForwarder;
  /** Where audit records go (default: one `info` line each through `logger`). */
  readonly audit?: AuditWriter;
  /** Where NMI records Events (a refused forged or stale AzureAssignedIdentity); default: none. */
  readonly events?: EventRecorderPort;
  /** Anti-spoofing's resolved-interface state (docs/adr/0010-anti-spoofing.md); absent: attribution by source IP alone. */
  readonly callerInterfaces?: CallerInterfaces;
  /**
   * On-demand SecretProviderClass reads for `--host-token=scoped` (docs/adr/0019-scoped-host-token.md); absent:
   * pods whose only Key Vault volumes are Secrets Store CSI volumes are answered 503.
   */
  readonly secretProviderClasses?: SecretProviderClassReaderPort;
  /** Pods' projected service-account tokens for federated identities (docs/adr/0021-federated-identities.md); absent: 503. */
  readonly serviceAccountTokens?: ServiceAccountTokenReaderPort;
}

/** A request to serve. */
export interface NmiRequest {
  readonly requestId: string;
  readonly method: string;
  /** The request line's HTTP version (`1.1`, `1.0`, or what else the parser let through); absent = `1.1`. */
  readonly httpVersion?: string;
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

/** The route recorded for a memoised request (always the token path; its query is not needed again). */
const MEMOISED_ROUTE: RequestRoute = { route: "token", query: new Map() };

/**
 * The engine behind the HTTP server. It owns the token path's state — the cluster view, the assignment
 * watch, the decision memo, the per-pod limiter, the token cache and the upstream gate — and the watch
 * subscriptions that keep them current. Build with the configuration and ports; {@link close} when done.
 */
export class NmiEngine {
  readonly #ports: NmiEnginePorts;
  readonly #recorder: RequestRecorder;
  readonly #parts: DecisionParts;
  readonly #forwarding: Parameters<typeof serveForward>[0];
  readonly #cache: TokenCacheDriver;
  readonly #gate: UpstreamGate;
  readonly #shutdown = new AbortController();
  /** Controllers of the requests being served (aborted on shutdown). */
  readonly #active = new Set<AbortController>();
  readonly #unsubscribe: Unsubscribe[] = [];
  readonly #memoise: boolean;
  readonly #routes = new RouteCache();

  /** Wires the engine and subscribes to pod, AzureAssignedIdentity and AzureIdentity changes. */
  constructor(config: NmiConfig, ports: NmiEnginePorts) {
    this.#ports = ports;
    this.#memoise = config.memoiseDecisions;
    const { clock, metrics, logger, kube } = ports;
    this.#recorder = new RequestRecorder(ports.audit ?? loggerAuditWriter(logger), metrics);
    const options = decisionOptionsFrom(config);
    const view = new ClusterView(kube, config, ports.callerInterfaces);
    const watch = new AssignmentWatch(clock);
    const podRate = new PodRateGate(clock, { ratePerSecond: config.podRateLimitPerSecond, burst: config.podRateBurst });
    this.#gate = new UpstreamGate(clock);
    this.#cache = new TokenCacheDriver(clock, {}, {
      onRefreshFailure: (key, failure) =>
        logger.warn({ identity: key.identityKey, resource: key.resource, failure: failure.kind }, "background token refresh failed; the cached token is served until it expires"),
    });
    const fetcher = new TokenFetcher({ kube, tokenSource: ports.tokenSource, gate: this.#gate, clock, metrics, ...(ports.serviceAccountTokens === undefined ? {} : { serviceAccountTokens: ports.serviceAccountTokens }) });
    const memo = new DecisionMemo<MemoisedDecision>(normalizeIpAddress);
    this.#parts = { view, watch, cache: this.#cache, fetcher, podRate, clock, metrics, cacheRequests: cacheRequestCounters(metrics), options, memo, subjects: new AuditSubjects(), logger, ...(ports.events === undefined ? {} : { events: ports.events }), ...(ports.secretProviderClasses === undefined ? {} : { secretProviderClasses: ports.secretProviderClasses }) };
    this.#forwarding = { forwarder: ports.forwarder, metrics, options };
    // Every change of an object a decision reads drops the decisions taken from it first: a pod change those of
    // the pod's addresses, any other change the whole memo.
    if (ports.callerInterfaces !== undefined) this.#unsubscribe.push(ports.callerInterfaces.onChange(() => memo.invalidate()));
    this.#unsubscribe.push(
      kube.subscribe("pods", (event) => {
        // Only decisions for the pod's own addresses (before and after) can change (see DecisionMemo).
        memo.invalidateAddresses(podAddresses(event));
        view.podsChanged();
        watch.podChanged(event);
        if (event.type === "deleted" && event.object.metadata.uid !== undefined) podRate.forget(event.object.metadata.uid);
      }),
      kube.subscribe("azureassignedidentities", (event) => {
        view.changed("azureassignedidentities");
        memo.invalidate();
        watch.assignedIdentityChanged(event);
      }),
      kube.subscribe("azureidentities", (event) => {
        view.changed("azureidentities");
        memo.invalidate();
        this.#identityChanged(event);
      }),
      kube.subscribe("azureidentitybindings", () => {
        view.changed("azureidentitybindings");
        memo.invalidate();
      }),
      kube.subscribe("azurepodidentityexceptions", () => {
        view.changed("azurepodidentityexceptions");
        memo.invalidate();
      }),
    );
  }

  /** Requests waiting for an identity assignment right now. */
  get waiting(): number {
    return this.#parts.watch.waiting;
  }

  /**
   * Serves one request and records it. Never throws for anything a client can send. A memoised token
   * request answered from the token cache completes synchronously (the common case, with no promise in
   * between); everything else returns a promise.
   */
  serve(request: NmiRequest): ServedRequest | Promise<ServedRequest> {
    const startedMs = this.#ports.clock.now();
    const trace = newTrace();
    // Only what IMDS answers (core's `decideRequestLine`), checked before the memo, whose key has no method.
    if (request.method !== "GET" || (request.httpVersion !== undefined && request.httpVersion !== "1.1")) {
      const route = this.#routes.classify(request.rawTarget);
      const refused = decideRequestLine(request.method, request.httpVersion ?? "1.1", route);
      if (refused !== undefined && isFinalDecision(refused)) return this.#finish(request, route, { kind: "outcome", outcome: refused }, trace, startedMs);
    }
    // A request identical to one decided since the caches last changed reuses that decision.
    const memoisable = this.#memoise && isMemoisable(this.#parts, request);
    const memoised = memoisable ? this.#parts.memo.find(request.remoteAddress, request.rawTarget) : undefined;
    return this.#serveRoute(request, memoisable && memoised === undefined ? memoKeyOf(request) : undefined, memoised, trace, startedMs);
  }

  /**
   * Serves `request` exactly as {@link serve} would if NMI answers it itself — a `GET` over HTTP/1.1 whose
   * decision is memoised or whose target is a token path (or a rejected look-alike of one) — else does nothing
   * and returns `undefined`. The HTTP entry answers those without the web framework's per-request objects and
   * hands every other request (forwarded routes, other methods and versions) to {@link serve}. Nothing is
   * recorded or counted for an `undefined`.
   */
  serveIfOwnAnswer(request: NmiRequest): ServedRequest | Promise<ServedRequest> | undefined {
    if (request.method !== "GET" || (request.httpVersion !== undefined && request.httpVersion !== "1.1")) return undefined;
    if (this.#shutdown.signal.aborted) return undefined;
    const startedMs = this.#ports.clock.now();
    const memoisable = this.#memoise && isMemoisable(this.#parts, request);
    const memoised = memoisable ? this.#parts.memo.find(request.remoteAddress, request.rawTarget) : undefined;
    if (memoised === undefined && FORWARDED_ROUTES.has(this.#routes.classify(request.rawTarget).route)) return undefined;
    return this.#serveRoute(request, memoisable && memoised === undefined ? memoKeyOf(request) : undefined, memoised, newTrace(), startedMs);
  }

  /** The rest of {@link serve} once the request line passed and the memo was looked up. */
  #serveRoute(
    request: NmiRequest,
    memoKey: MemoKey | undefined,
    memoised: MemoisedDecision | undefined,
    trace: Trace,
    startedMs: number,
  ): ServedRequest | Promise<ServedRequest> {
    const route: RequestRoute = memoised !== undefined ? MEMOISED_ROUTE : this.#routes.classify(request.rawTarget);
    if (this.#shutdown.signal.aborted) return this.#finish(request, route, SHUTTING_DOWN, trace, startedMs);
    if (memoised !== undefined) {
      // A memoised decision never waits on the request's signal (an upstream fetch has its own), so nearly every
      // request is served without building one.
      const served = serveMemoised(this.#parts, memoised, trace);
      return served instanceof Promise
        ? served.then((result) => this.#finish(request, route, result, trace, startedMs))
        : this.#finish(request, route, served, trace, startedMs);
    }
    // Aborted by the client's disconnect or by shutdown; built only if a flow waits. (Never
    // `AbortSignal.any`: it registers every combined signal on the long-lived shutdown signal, which
    // made each request cost time proportional to all earlier ones.)
    const lifetime = new RequestSignal(request.onClientGone, this.#shutdown.signal, this.#active);
    const flowRequest = new ServedPathRequest(request, lifetime, this.#shutdown.signal);
    let pending: FlowResult | Promise<FlowResult>;
    try {
      pending = this.#route(route, flowRequest, trace, memoKey);
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

  /** The reply to a served request; writes its audit record and metrics (step 7). */
  #finish(request: NmiRequest, route: RequestRoute, result: FlowResult, trace: Trace, startedMs: number): ServedRequest {
    return this.#recorder.finish(request, route, result, trace, this.#ports.clock.now() - startedMs, this.#shutdown.signal.aborted);
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
    this.#recorder.flush();
  }

  /** Runs the route's flow: synchronously when it never waits (see `serveToken`), else a promise. */
  #route(route: RequestRoute, request: PathRequest, trace: Trace, memoKey: MemoKey | undefined): FlowResult | Promise<FlowResult> {
    switch (route.route) {
      case "rejected":
      {
        const decision = decideRejectedPath(route.reason);
        if (!isFinalDecision(decision)) throw new Error(`invariant: ${decision.kind} decision for a rejected path`);
        return { kind: "outcome", outcome: decision };
      }
      case "token":
        // Anti-spoofing: a pod whose IP is not bound to its interface yet waits (bounded) for one re-sync.
        if (this.#ports.callerInterfaces !== undefined) {
          return this.#parts.view.settleInterface(request.remoteAddress).then(() => serveToken(this.#parts, request, route.query, trace, memoKey));
        }
        return serveToken(this.#parts, request, route.query, trace, memoKey);
      case "hostToken":
        return serveHostToken(this.#parts, request, route.query, trace);
      case "proxy":
      case "instance":
        return serveForward(this.#forwarding, request, route);
    }
  }

  #identityChanged(event: ResourceEvent<AzureIdentity>): void {
    const { object, previous } = event;
    // Informer resyncs redeliver unchanged objects; only a real change (or a deletion) drops tokens.
    if (event.type === "modified" && previous !== undefined && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    if (event.type === "added") return;
    this.#cache.forget(identityCacheKey(object.metadata.namespace, object.metadata.name));
    this.#ports.logger.info(
      { identity: `${object.metadata.namespace}/${object.metadata.name}`, change: event.type },
      "AzureIdentity changed: its cached tokens were dropped",
    );
  }
}

/**
 * The source addresses a pod event concerns, normalised as attribution reads them: the pod's addresses
 * after the change and, for a modification, before it.
 */
function podAddresses(event: ResourceEvent<PodView>): ReadonlySet<string> {
  const addresses = new Set<string>();
  for (const pod of event.previous === undefined ? [event.object] : [event.object, event.previous]) {
    for (const ip of [pod.podIP, ...pod.podIPs]) {
      const address = ip === "" ? undefined : normalizeIpAddress(ip);
      if (address !== undefined) addresses.add(address);
    }
  }
  return addresses;
}

// ── the route of a request target ──

/** Routes whose answer is the metadata endpoint's, forwarded (every other route is answered by NMI itself). */
const FORWARDED_ROUTES: ReadonlySet<RequestRoute["route"]> = new Set(["proxy", "instance"]);

/** Targets whose route is kept at most; the cache is emptied when full (it refills with the hot targets at once). */
const MAX_CACHED_ROUTES = 1024;
/** Longer targets are classified every time (no SDK sends one; keeps the cache's memory small). */
const MAX_CACHED_TARGET_LENGTH = 512;

/**
 * Core's `classifyRequestPath` of recent request targets. The route (canonical-path checks, percent-decoding,
 * the parsed query) is a pure function of the raw target string alone — no header, address or cluster state
 * enters it — and every pod's SDK sends the same few targets, so each is parsed once instead of once per
 * request (about a third of deciding a token request). Routes are immutable, so sharing one is safe.
 */
export class RouteCache {
  readonly #routes = new Map<string, RequestRoute>();

  /** The route of `rawTarget`, exactly as `classifyRequestPath(rawTarget)` returns it. */
  classify(rawTarget: string): RequestRoute {
    let route = this.#routes.get(rawTarget);
    if (route === undefined) {
      route = classifyRequestPath(rawTarget);
      if (rawTarget.length <= MAX_CACHED_TARGET_LENGTH) {
        if (this.#routes.size >= MAX_CACHED_ROUTES) this.#routes.clear();
        this.#routes.set(rawTarget, route);
      }
    }
    return route;
  }
}

// ── the routes that are not NMI's: forwarded to the metadata endpoint ──

/** The answer when IMDS cannot be reached: 500, as the original's proxy answered, in IMDS's error shape. */
function upstreamFailureResponse(message: string): ImdsResponse {
  return {
    status: 500,
    headers: { "content-type": IMDS_CONTENT_TYPE },
    body: { error: "server_error", error_description: `failed to reach the instance metadata service: ${message}` },
  };
}

/** The status class label of a forwarded answer. */
function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}

/**
 * Serves a `proxy` or `instance` route: core decides (instance block 403, Metadata header 400, forwarding
 * headers 400, else forward), and a forwarded request goes to the metadata endpoint unchanged.
 */
async function serveForward(
  ctx: { readonly forwarder: ImdsForwarder; readonly metrics: MetricsPort; readonly options: NmiDecisionOptions },
  req: PathRequest,
  route: Extract<RequestRoute, { readonly route: "proxy" | "instance" }>,
): Promise<FlowResult> {
  const decision = decideForwardRequest(route, req.headers, ctx.options);
  if (decision.kind !== "forward") {
    if (decision.kind === "badRequest" || decision.kind === "instanceBlocked") return { kind: "outcome", outcome: decision };
    throw new Error(`invariant: ${decision.kind} decision on a forwarded route`);
  }
  const answer = await ctx.forwarder.forward({
    method: req.method,
    target: decision.target,
    headers: req.headers,
    signal: req.signal,
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
  if (!answer.ok) {
    ctx.metrics.increment(NMI_METRIC.proxied, { class: "error" });
    return { kind: "response", decision: "forwardFailed", response: upstreamFailureResponse(answer.error.message) };
  }
  ctx.metrics.increment(NMI_METRIC.proxied, { class: statusClass(answer.value.status) });
  return { kind: "forwarded", response: answer.value };
}

// ── the request's lifetime: its abort signal, built only when a flow waits ──

/** Subscribes to the client going away before its answer is sent; returns the unsubscribe. */
export type OnClientGone = (listener: (reason: Error) => void) => () => void;

/**
 * The abort signal of one request, built only when a flow asks for it. Most requests are answered from
 * the token cache without ever waiting, and an `AbortController` plus a `close` listener on the response
 * cost a third of such a request's time; so the controller is created on the first read of
 * {@link RequestSignal.signal} (an assignment wait or a forwarded request), and it then aborts on the
 * client's disconnect or on NMI's shutdown, whichever comes first. {@link dispose} once the request is answered.
 */
export class RequestSignal {
  readonly #onClientGone: OnClientGone;
  readonly #shutdown: AbortSignal;
  /** Controllers of the requests in flight, which shutdown aborts. */
  readonly #active: Set<AbortController>;
  #controller: AbortController | undefined;
  #unsubscribe: (() => void) | undefined;

  /** A signal following `onClientGone` and `shutdown`; its controller joins `active` while it lives. */
  constructor(onClientGone: OnClientGone, shutdown: AbortSignal, active: Set<AbortController>) {
    this.#onClientGone = onClientGone;
    this.#shutdown = shutdown;
    this.#active = active;
  }

  /** Aborts when the client goes away or NMI shuts down. */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      const created = new AbortController();
      controller = created;
      this.#controller = created;
      if (this.#shutdown.aborted) {
        created.abort(this.#shutdown.reason);
      } else {
        this.#active.add(created);
        this.#unsubscribe = this.#onClientGone((reason) => created.abort(reason));
      }
    }
    return controller.signal;
  }

  /** Stops listening and leaves the shutdown set. */
  dispose(): void {
    if (this.#controller === undefined) return;
    this.#active.delete(this.#controller);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}

/** A request as the flows see it; its `signal` is built on first use (see {@link RequestSignal}). */
class ServedPathRequest implements PathRequest {
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
