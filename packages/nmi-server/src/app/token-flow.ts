import {
  checkForwardedHeaders,
  checkMetadataHeader,
  decideHostTokenRequest,
  decideTokenRequest,
  findPodOnNode,
  isFinalDecision,
  parseHostTokenRequest,
  parseTokenRequest,
  podRef,
  tokenCacheKey,
  verifyCallerBinding,
  type AttributionError,
  type AzureIdentity,
  type IdentitySource,
  type NmiDecision,
  type NmiOutcome,
  type PodRef,
  type PodView,
  type QueryParams,
  type Result,
  type TokenCacheKey,
  type TokenFetchPlan,
} from "@podid/core";
import { NMI_METRIC } from "../observability/nmi-metrics.js";
import type { ObtainedToken } from "../cache/token-cache-driver.js";
import { auditSubject, type AuditSubject } from "./audit.js";
import type { MemoKey } from "./decision-memo.js";
import type { FlowContext, FlowRequest, FlowResult, Trace } from "./flow-context.js";

/**
 * The token path (`/metadata/identity/oauth2/token`) and `/host/token`: parse, attribute, decide with
 * core, wait for assignment when core says so (event-driven, re-attributing the caller after every wait
 * and binding the request to the pod's UID), then get the token through the single-flight cache.
 * @packageDocumentation
 */

/** An identity source with nothing in it, for decisions where the caller could not be attributed. */
const EMPTY_SOURCE: IdentitySource = { mode: "standard", assignedIdentities: [], options: { forceNamespaced: false } };

type Attributed = Result<PodView, AttributionError>;

/**
 * The cache key of an AzureIdentity: its namespace and name. Every pod granted the identity shares the
 * token for a resource; the decision to grant is still taken for every request.
 */
export function identityCacheKey(namespace: string, name: string): string {
  return `identity:${namespace}/${name}`;
}

/**
 * The identity's version for the cache: everything that changes which token upstream would return. A
 * different version invalidates the identity's cached tokens (core's `requestToken`).
 */
export function identityVersion(identity: AzureIdentity): string {
  const s = identity.spec;
  const secret = s.clientPassword === undefined ? "" : `${s.clientPassword.namespace}/${s.clientPassword.name}`;
  return JSON.stringify([identity.metadata.uid ?? "", s.type, s.clientID, s.resourceID, s.tenantID, secret, s.adEndpoint, s.auxiliaryTenantIDs]);
}

/** `plan` asking upstream for `resource` (the cache key's trimmed form, so the token matches its key). */
function withResource(plan: TokenFetchPlan, resource: string): TokenFetchPlan {
  return plan.kind === "managedIdentity" ? { ...plan, request: { ...plan.request, resource } } : { ...plan, resource };
}

/** Final outcome result. */
function outcome(o: NmiOutcome): FlowResult {
  return { kind: "outcome", outcome: o };
}

/** Refusal because the pod behind the request changed (IP reuse or pod re-created) while it was served. */
function callerChanged(ctx: FlowContext, expected: PodRef, actual: PodRef): FlowResult {
  ctx.metrics.increment(NMI_METRIC.callerChanged, {});
  return outcome({ kind: "callerUnknown", error: { kind: "callerChanged", expected, actual } });
}

/**
 * How long the request has been served, as core's decision sees it. With `--set-retry-after-header` the
 * request is decided as if its wait budget were spent, so a not-yet-assigned identity is answered with
 * 503 + `Retry-After` at once instead of waiting; likewise after the client went away.
 */
function elapsedFor(ctx: FlowContext, startedMs: number, giveUp: boolean): number {
  return giveUp || ctx.options.setRetryAfterHeader ? Number.POSITIVE_INFINITY : ctx.clock.now() - startedMs;
}

/** The per-pod rate limit, applied once per request to decisions that name a pod. */
function rateLimited(ctx: FlowContext, decision: NmiDecision): FlowResult | undefined {
  if (!("caller" in decision)) return undefined;
  const pod = decision.caller;
  const verdict = ctx.podRate.allow(pod.uid !== "" ? pod.uid : `${pod.namespace}/${pod.name}`);
  if (verdict.kind === "allow") return undefined;
  ctx.metrics.increment(NMI_METRIC.rateLimited, { scope: "pod" });
  return outcome({
    kind: "tokenFailed",
    error: { kind: "throttled", retryAfterMs: verdict.retryAfterMs, message: `too many token requests from pod ${pod.namespace}/${pod.name}` },
  });
}

/**
 * The decide–wait loop shared by both paths. `decide` is called with the elapsed time and returns core's
 * decision; `recheck` re-attributes the caller after a wait and refuses a different pod.
 */
async function decideWithWaits(
  ctx: FlowContext,
  req: FlowRequest,
  trace: Trace,
  decide: (elapsedMs: number) => NmiDecision,
): Promise<FlowResult | NmiDecision> {
  const startedMs = ctx.clock.now();
  let boundTo: PodRef | undefined;
  let giveUp = false;
  for (let first = true; ; first = false) {
    const generation = ctx.watch.generation;
    const decision = decide(elapsedFor(ctx, startedMs, giveUp));
    if ("caller" in decision) {
      trace.pod = decision.caller;
      if (boundTo !== undefined && (decision.caller.uid === "" || decision.caller.uid !== boundTo.uid)) {
        return callerChanged(ctx, boundTo, decision.caller);
      }
    }
    if (first) {
      const limited = rateLimited(ctx, decision);
      if (limited !== undefined) return limited;
    }
    if (decision.kind !== "wait") {
      if (boundTo !== undefined) {
        trace.waitedMs = ctx.clock.now() - startedMs;
        trace.waitOutcome ??= decision.kind === "fetch" ? "assigned" : "timeout";
      }
      return decision;
    }
    boundTo = decision.caller;
    const wake = await ctx.watch.wait(decision.caller, generation, decision.remainingMs, req.signal);
    if (wake === "aborted") {
      trace.waitOutcome = "aborted";
      trace.waitedMs = ctx.clock.now() - startedMs;
      if (req.shutdownSignal.aborted) {
        return { kind: "outcome", outcome: { kind: "tokenFailed", error: { kind: "unavailable", message: "NMI is shutting down; retry" } } };
      }
      // The client went away (the original answered 404 after "context canceled", #1402): decide once more as if
      // the budget were spent, so the record says what the answer would have been.
      giveUp = true;
    }
  }
}

/** A `fetch` or `excepted` decision, which obtains a token. */
export type TokenDecision = Extract<NmiDecision, { kind: "fetch" | "excepted" }>;

/** Everything a token decision needs from the cache, computed once per decision (and memoised with it). */
export interface PreparedFetch {
  readonly key: TokenCacheKey;
  readonly version: string;
  /** The plan asking upstream for the key's (trimmed) resource. */
  readonly plan: TokenFetchPlan;
  readonly clientIdHint: string;
  /** `namespace/name` of the identity, or `node` for an excepted pod (audit). */
  readonly identityLabel: string;
  readonly clientId?: string;
}

/** Prepares the cache lookup of a token decision; `undefined` when the resource is blank. */
export function prepareFetch(decision: TokenDecision): PreparedFetch | undefined {
  let identityKey: string;
  let version: string;
  let plan: TokenFetchPlan;
  let clientIdHint: string;
  let identityLabel: string;
  let clientId: string | undefined;
  if (decision.kind === "fetch") {
    const identity = decision.identity;
    const { namespace, name } = identity.metadata;
    identityKey = identityCacheKey(namespace, name);
    version = identityVersion(identity);
    plan = decision.plan;
    clientIdHint = identity.spec.clientID;
    identityLabel = `${namespace}/${name}`;
    if (identity.spec.clientID !== "") clientId = identity.spec.clientID;
  } else {
    const selector = decision.request.selector;
    identityKey = selector === undefined ? "node:system" : `node:${selector.by}=${selector.value.toLowerCase()}`;
    version = "node";
    plan = { kind: "managedIdentity", request: decision.request };
    clientIdHint = "";
    identityLabel = selector === undefined ? "node" : `node (${selector.by})`;
  }
  const resource = plan.kind === "managedIdentity" ? plan.request.resource : plan.resource;
  const key = tokenCacheKey(identityKey, resource);
  if (!key.ok) return undefined;
  return {
    key: key.value,
    version,
    plan: withResource(plan, key.value.resource),
    clientIdHint,
    identityLabel,
    ...(clientId !== undefined ? { clientId } : {}),
  };
}

/** Performs a prepared token decision through the cache, and re-checks the caller after waiting for upstream. */
function obtainToken(
  ctx: FlowContext,
  decision: TokenDecision,
  prepared: PreparedFetch,
  trace: Trace,
  recheck: () => Attributed,
): FlowResult | Promise<FlowResult> {
  trace.identity = prepared.identityLabel;
  if (prepared.clientId !== undefined) trace.clientId = prepared.clientId;
  const obtained = ctx.cache.obtain(prepared.key, prepared.version, ctx.fetcher.fetchFor(prepared.plan, prepared.clientIdHint));
  // A token from memory is answered in the same turn; only a wait for upstream goes through a promise.
  return obtained instanceof Promise
    ? obtained.then((o) => tokenResult(ctx, decision, o, trace, recheck))
    : tokenResult(ctx, decision, obtained, trace, recheck);
}

/** The flow result of what the cache answered. */
function tokenResult(ctx: FlowContext, decision: TokenDecision, obtained: ObtainedToken, trace: Trace, recheck: () => Attributed): FlowResult {
  trace.cache = obtained.cache;
  ctx.metrics.increment(NMI_METRIC.tokenCacheRequests, { result: obtained.cache });
  if (obtained.upstreamMs !== undefined) trace.upstreamMs = obtained.upstreamMs;
  if (!obtained.result.ok) {
    const failure = obtained.result.error;
    return outcome(failure.kind === "token" ? { kind: "tokenFailed", error: failure.error } : { kind: "secretFailed", failure: failure.failure });
  }
  if (obtained.cache === "miss" || obtained.cache === "joined") {
    // The request waited for upstream: the address may have changed hands meanwhile.
    const now = recheck();
    if (!now.ok) return outcome({ kind: "callerUnknown", error: now.error });
    const bound = verifyCallerBinding(decision.caller, now.value);
    if (!bound.ok) return callerChanged(ctx, decision.caller, podRef(now.value));
  }
  const token = obtained.result.value;
  if (decision.kind === "fetch" && decision.shape === "host") {
    return outcome({ kind: "issued", shape: "host", token, clientId: decision.identity.spec.clientID || token.client_id });
  }
  return outcome({ kind: "issued", shape: "imds", token });
}

/** A memoised token-path decision (see `DecisionMemo`). */
export interface MemoisedDecision {
  readonly decision: TokenDecision;
  readonly prepared: PreparedFetch;
  /** The audit fields every request served from this decision shares. */
  readonly subject: AuditSubject;
}

/**
 * The memo key of a token-path request: everything core's token decision reads from the request — the
 * source address and the raw target (path and query) — for requests that pass both header checks. A
 * request that fails one (no `Metadata: true`, a forwarding header) is refused by core, and refusals are
 * never memoised, so it has no key and is always decided afresh.
 */
export function tokenMemoKey(ctx: FlowContext, req: Pick<FlowRequest, "remoteAddress" | "rawTarget" | "headers">): MemoKey | undefined {
  if (!checkMetadataHeader(req.headers, ctx.options).ok || !checkForwardedHeaders(req.headers).ok) return undefined;
  return { source: req.remoteAddress, target: req.rawTarget };
}

/**
 * Serves a token request whose decision was memoised: rate limit, then the cache. Synchronous when the
 * token is in memory (nearly every request), so the hot path allocates no promise.
 */
export function serveMemoised(ctx: FlowContext, req: FlowRequest, memo: MemoisedDecision, trace: Trace): FlowResult | Promise<FlowResult> {
  trace.subject = memo.subject;
  const limited = rateLimited(ctx, memo.decision);
  if (limited !== undefined) return limited;
  return obtainToken(ctx, memo.decision, memo.prepared, trace, () => ctx.view.attribute(req.remoteAddress));
}

/** Serves the IMDS token path. */
export async function serveToken(ctx: FlowContext, req: FlowRequest, query: QueryParams, trace: Trace, memoKey?: MemoKey): Promise<FlowResult> {
  const request = parseTokenRequest(query, req.headers, ctx.options);
  if (request.ok) trace.resource = request.value.resource;
  const generation = ctx.memo.generation;
  let decisions = 0;
  const decided = await decideWithWaits(ctx, req, trace, (elapsedMs) => {
    decisions += 1;
    const caller = ctx.view.attribute(req.remoteAddress);
    const namespace = caller.ok ? caller.value.metadata.namespace : "";
    return decideTokenRequest({
      request,
      caller,
      exceptions: caller.ok ? ctx.view.exceptions(namespace) : [],
      identities: caller.ok ? ctx.view.identitySource(namespace) : EMPTY_SOURCE,
      elapsedMs,
      options: ctx.options,
    });
  });
  if (isFlowResult(decided)) return decided;
  const recheck = () => ctx.view.attribute(req.remoteAddress);
  if (decided.kind === "fetch" || decided.kind === "excepted") {
    const prepared = prepareFetch(decided);
    if (prepared === undefined) return outcome({ kind: "badRequest", reason: { kind: "missingResource" } });
    // Only a decision taken at once (no wait) and with unchanged caches is memoised.
    if (memoKey !== undefined && decisions === 1 && request.ok) {
      const resource = request.value.resource;
      const subject = auditSubject({ sourceIp: req.remoteAddress, pod: decided.caller, identity: prepared.identityLabel, clientId: prepared.clientId, resource });
      ctx.memo.set(memoKey, { decision: decided, prepared, subject }, generation);
    }
    return obtainToken(ctx, decided, prepared, trace, recheck);
  }
  return perform(ctx, decided, trace, recheck);
}

/** Serves `/host/token` (only when enabled; core refuses it otherwise). */
export async function serveHostToken(ctx: FlowContext, req: FlowRequest, query: QueryParams, trace: Trace): Promise<FlowResult> {
  const request = parseHostTokenRequest(query, req.headers, req.remoteAddress);
  if (request.ok) trace.resource = request.value.resource;
  // After waiting for upstream, the named pod is looked up again with core's rule (live pod of this node).
  const findNamed = (): Attributed =>
    request.ok
      ? findPodOnNode(request.value.podNamespace, request.value.podName, ctx.view.podsOnNode(), { nodeName: ctx.view.nodeName })
      : { ok: false, error: { kind: "namedPodNotFound", namespace: "", name: "" } };
  const decided = await decideWithWaits(ctx, req, trace, (elapsedMs) =>
    decideHostTokenRequest({
      request,
      podsOnNode: ctx.view.podsOnNode(),
      attribution: { nodeName: ctx.view.nodeName },
      identities: request.ok ? ctx.view.identitySource(request.value.podNamespace) : EMPTY_SOURCE,
      elapsedMs,
      options: ctx.options,
    }),
  );
  if (isFlowResult(decided)) return decided;
  return perform(ctx, decided, trace, findNamed);
}

/** Narrows the loop's result. */
function isFlowResult(value: FlowResult | NmiDecision): value is FlowResult {
  return value.kind === "outcome" || value.kind === "forwarded" || value.kind === "response";
}

/** Turns a non-waiting decision into a flow result. */
async function perform(ctx: FlowContext, decision: NmiDecision, trace: Trace, recheck: () => Attributed): Promise<FlowResult> {
  if (decision.kind === "fetch" || decision.kind === "excepted") {
    const prepared = prepareFetch(decision);
    if (prepared === undefined) return outcome({ kind: "badRequest", reason: { kind: "missingResource" } });
    return obtainToken(ctx, decision, prepared, trace, recheck);
  }
  if (isFinalDecision(decision)) return outcome(decision);
  // Core never answers a token request with `forward`, and the loop resolves every `wait`.
  throw new Error(`invariant: ${decision.kind} decision on a token path`);
}
