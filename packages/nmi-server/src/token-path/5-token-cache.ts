import {
  createTokenCache,
  err,
  federatedCacheIdentityKey,
  fetchFailed,
  fetchSucceeded,
  forgetIdentity,
  isPodBucketFull,
  ok,
  requestToken,
  steadyHit,
  sweepTokenCache,
  takePodToken,
  tokenCacheKey,
  type AzureIdentity,
  bindMetric,
  type BoundMetric,
  type ClockPort,
  type FetchOutcome,
  type ImdsTokenBody,
  type MetricsPort,
  type NmiDecision,
  type PodRateDecision,
  type PodRateLimiterConfig,
  type PodRef,
  type Result,
  type TokenCacheConfig,
  type TokenCacheKey,
  type TokenCacheState,
  type TokenFetchPlan,
  type TokenSourceError,
} from "@podid/core";
import { NMI_METRIC } from "../nmi-metrics.js";
import type { FetchFailure, TokenFetch, TokenFetcher, TokenFetchResult } from "./6-upstream.js";
import { outcome, type AuditSubject, type CacheResult, type FlowResult, type Trace } from "./7-response-audit.js";

/**
 * Token path, step 5 of 8 — limits and the token cache. Once core has decided which identity a request
 * gets: the per-pod rate limit (once per request), the preparation of the cache lookup (key, identity
 * version, fetch plan — computed once per decision and memoised with it), and the single-flight token
 * cache that answers from memory or runs one upstream fetch (step 6) per (identity, resource). Also here:
 * the decision memo, which lets step 4 skip deciding for a request identical to one already decided.
 * @packageDocumentation
 */

/** The parts of the engine this step uses. */
export interface TokenCacheParts {
  readonly cache: TokenCacheDriver;
  readonly fetcher: TokenFetcher;
  readonly podRate: PodRateGate;
  readonly metrics: MetricsPort;
  /** The token-cache counter's series (see {@link cacheRequestCounters}). */
  readonly cacheRequests: CacheRequestCounters;
}

/** The token-cache counter's series, one per cache result. */
export type CacheRequestCounters = Readonly<Record<CacheResult, BoundMetric>>;

/** The token-cache counter's series on `metrics`, found once (every token request counts in one of them). */
export function cacheRequestCounters(metrics: MetricsPort): CacheRequestCounters {
  const counter = (result: CacheResult): BoundMetric => bindMetric(metrics, NMI_METRIC.tokenCacheRequests, { result });
  return { hit: counter("hit"), refresh: counter("refresh"), joined: counter("joined"), miss: counter("miss"), rejection: counter("rejection") };
}

/**
 * Re-checks, after a wait for upstream, that the pod at the request's source address is still `expected`
 * (step 3's rule); returns the refusal when it is not, `undefined` when it is.
 */
export type CallerRecheck = (expected: PodRef) => FlowResult | undefined;

// ── the per-pod limit ──

/** The per-pod rate limit, applied once per request to decisions that name a pod. */
export function rateLimited(parts: Pick<TokenCacheParts, "podRate" | "metrics">, decision: NmiDecision): FlowResult | undefined {
  if (!("caller" in decision)) return undefined;
  const pod = decision.caller;
  const verdict = parts.podRate.allow(pod.uid !== "" ? pod.uid : `${pod.namespace}/${pod.name}`);
  if (verdict.kind === "allow") return undefined;
  parts.metrics.increment(NMI_METRIC.rateLimited, { scope: "pod" });
  return outcome({
    kind: "tokenFailed",
    error: { kind: "throttled", retryAfterMs: verdict.retryAfterMs, message: `too many token requests from pod ${pod.namespace}/${pod.name}` },
  });
}

/** Buckets are pruned every this many requests, bounding memory to recently active pods. */
const PRUNE_EVERY = 4096;

/**
 * Per-pod fairness in front of the token path (docs/compatibility.md#token-cache-and-upstream-limits): core's
 * token bucket per pod UID, so one noisy or crash-looping pod gets 429 + `Retry-After` instead of starving
 * the node's other pods. Each pod has a limiter state of its own holding just its bucket: core's step
 * copies the state's bucket map, and one shared state would make every request copy every pod's bucket
 * (a third of a cached-token request's time with 110 pods on the node). Buckets are independent in core's
 * rule, so a state per pod decides exactly as one shared state would.
 */
export class PodRateGate {
  readonly #config: PodRateLimiterConfig | undefined;
  /**
   * One bucket per pod (core's `takePodToken` steps it; absent = full), kept as a record updated in place with
   * core's answer. Why not the answer itself: a new bucket per request, held until the pod's next request, is
   * alive at nearly every young-generation collection (one per pod on the node), and copying such survivors is
   * what makes a busy NMI's collections dearer than a bare server's; core's answer now dies at once
   * (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, seventh addendum).
   */
  readonly #byPod = new Map<string, { tokens: number; updatedAtMs: number }>();
  readonly #clock: ClockPort;
  #requests = 0;

  /** A gate of `ratePerSecond` (with `burst`) per pod; a rate of 0 turns the limit off (`--pod-rate-limit=0`). */
  constructor(clock: ClockPort, config: PodRateLimiterConfig) {
    this.#clock = clock;
    this.#config = config.ratePerSecond > 0 ? config : undefined;
  }

  /** Pods with a bucket right now (recently active ones; for tests). */
  get trackedPods(): number {
    return this.#byPod.size;
  }

  /** Takes one request from the bucket of the pod with UID `podUid`. */
  allow(podUid: string): PodRateDecision {
    const config = this.#config;
    if (config === undefined) return ALLOW_ALL;
    const now = this.#clock.now();
    if (++this.#requests % PRUNE_EVERY === 0) this.#prune(config, now);
    const kept = this.#byPod.get(podUid);
    const step = takePodToken(config, kept, now);
    if (kept === undefined) this.#byPod.set(podUid, { tokens: step.bucket.tokens, updatedAtMs: step.bucket.updatedAtMs });
    else {
      kept.tokens = step.bucket.tokens;
      kept.updatedAtMs = step.bucket.updatedAtMs;
    }
    return step.decision;
  }

  /** Forgets a deleted pod's bucket. */
  forget(podUid: string): void {
    this.#byPod.delete(podUid);
  }

  /** Drops the buckets core's pruning drops (full again: the pod has been quiet long enough). */
  #prune(config: PodRateLimiterConfig, now: number): void {
    for (const [pod, bucket] of this.#byPod) {
      if (isPodBucketFull(config, bucket, now)) this.#byPod.delete(pod);
    }
  }
}

/** The answer while the limit is off. */
const ALLOW_ALL: PodRateDecision = { kind: "allow" };

// ── preparing the cache lookup of a decision ──

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
function identityVersion(identity: AzureIdentity): string {
  let version = versions.get(identity);
  if (version === undefined) {
    const s = identity.spec;
    const secret = s.clientPassword === undefined ? "" : `${s.clientPassword.namespace}/${s.clientPassword.name}`;
    version = JSON.stringify([identity.metadata.uid ?? "", s.type, s.clientID, s.resourceID, s.tenantID, secret, s.adEndpoint, s.auxiliaryTenantIDs]);
    versions.set(identity, version);
  }
  return version;
}

/**
 * Versions by identity object: the caches hand out the same immutable object until the AzureIdentity
 * changes (a change is a new object), so its version is serialised once, not on every decision. Weak keys:
 * entries go with the objects the caches drop.
 */
const versions = new WeakMap<AzureIdentity, string>();

/** `plan` asking upstream for `resource` (the cache key's trimmed form, so the token matches its key). */
function withResource(plan: TokenFetchPlan, resource: string): TokenFetchPlan {
  // Nearly always already the trimmed form: then the plan is kept as it is (no copies per decision).
  if ((plan.kind === "managedIdentity" ? plan.request.resource : plan.resource) === resource) return plan;
  return plan.kind === "managedIdentity" ? { ...plan, request: { ...plan.request, resource } } : { ...plan, resource };
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
    // Federated tokens are per service account too: Entra ID issues them to the account whose token was shown.
    if (decision.plan.kind === "federated") identityKey = federatedCacheIdentityKey(identityKey, decision.plan.serviceAccount);
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
  const prepared: { -readonly [K in keyof PreparedFetch]: PreparedFetch[K] } = { key: key.value, version, plan: withResource(plan, key.value.resource), clientIdHint, identityLabel };
  if (clientId !== undefined) prepared.clientId = clientId;
  return prepared;
}

// ── the decision memo ──

/**
 * The decision memo. Core's decision for a token request is a pure function of the request target,
 * two header facts (the Metadata check and the forwarding-header check), the source address and the
 * informer caches — and, for waits only, of time. So a decision to fetch (or to serve an excepted pod)
 * can be reused for an identical request as long as no object it was taken from has changed: every change
 * to AzureAssignedIdentities, AzureIdentities, bindings or exceptions empties the memo, and a pod change
 * drops the decisions of the source addresses the pod held before or holds after it
 * ({@link DecisionMemo.invalidateAddresses}). Why a pod change need not empty it all: the only pods a token
 * decision reads are those holding the request's source address (attribution; the caller's own labels and
 * namespace then choose bindings and exceptions), so a pod's change can alter only decisions for its own
 * addresses — and on a busy node pods change several times a second, which would otherwise make NMI re-decide
 * every pod's requests after each change.
 * The per-pod rate limit, the token cache (expiry, refresh, invalidation) and the audit record still run
 * for every request.
 */

/** Entries kept at most; the memo is emptied when full (it refills with the hot keys at once). */
const MAX_MEMO_ENTRIES = 4096;

/**
 * Where a request's decision is memoised: its source address and raw target. Kept as two parts (a map
 * per source) rather than one joined string, so a lookup hashes only the target the parser just made —
 * the source string comes from the connection and its hash is computed once.
 */
export interface MemoKey {
  readonly source: string;
  readonly target: string;
}

/** Decisions by request fingerprint, valid for one generation of the caches. */
export class DecisionMemo<V> {
  readonly #bySource = new Map<string, Map<string, V>>();
  /** The address each source string names (as attribution normalises it), computed once per source. */
  readonly #addressOf = new Map<string, string | undefined>();
  readonly #normalise: (source: string) => string | undefined;
  #size = 0;
  #generation = 0;

  /**
   * A memo; `normalise` maps a source as the connection reports it (e.g. `::ffff:10.0.0.5`) to the address
   * pods are indexed by (attribution's rule), for {@link invalidateAddresses}.
   */
  constructor(normalise: (source: string) => string | undefined = (source) => source) {
    this.#normalise = normalise;
  }

  /** Increases whenever the memo is emptied; a decision taken in an older generation is never stored. */
  get generation(): number {
    return this.#generation;
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The memoised value for `key`. */
  get(key: MemoKey): V | undefined {
    return this.find(key.source, key.target);
  }

  /** The memoised value for the key of `source` and `target` (a lookup that builds no key). */
  find(source: string, target: string): V | undefined {
    return this.#bySource.get(source)?.get(target);
  }

  /** Stores `value` if the caches have not changed since `generation` (when the decision was taken). */
  set(key: MemoKey, value: V, generation: number): void {
    if (generation !== this.#generation) return;
    if (this.#size >= MAX_MEMO_ENTRIES) this.#clear();
    let targets = this.#bySource.get(key.source);
    if (targets === undefined) {
      targets = new Map();
      this.#bySource.set(key.source, targets);
    }
    if (!targets.has(key.target)) this.#size += 1;
    targets.set(key.target, value);
  }

  /** Empties the memo (call on every change of a watched object other than a pod). */
  invalidate(): void {
    this.#generation += 1;
    this.#clear();
  }

  /**
   * Drops the decisions of every source naming one of `addresses` (normalised; a pod's addresses before and
   * after its change). Like {@link invalidate} it starts a new generation, so no decision taken before the
   * change is stored after it, whatever its source.
   */
  invalidateAddresses(addresses: ReadonlySet<string>): void {
    this.#generation += 1;
    if (addresses.size === 0) return;
    for (const [source, targets] of this.#bySource) {
      let address = this.#addressOf.get(source);
      if (address === undefined && !this.#addressOf.has(source)) {
        address = this.#normalise(source);
        this.#addressOf.set(source, address);
      }
      // A source no address can be read from is never attributed; dropping it anyway costs nothing.
      if (address === undefined || addresses.has(address)) {
        this.#size -= targets.size;
        this.#bySource.delete(source);
        this.#addressOf.delete(source);
      }
    }
  }

  #clear(): void {
    this.#bySource.clear();
    this.#addressOf.clear();
    this.#size = 0;
  }
}

/** A memoised token-path decision (see `DecisionMemo`). */
export interface MemoisedDecision {
  readonly decision: TokenDecision;
  readonly prepared: PreparedFetch;
  /** The audit fields every request served from this decision shares. */
  readonly subject: AuditSubject;
  /** The caller re-check after a wait for upstream (for the memoised source address). */
  readonly recheck: CallerRecheck;
  /** The upstream fetch a miss or refresh starts (queued in the deciding pod's line), built once per decision. */
  readonly fetch: TokenFetch;
  /** The decision's last steady hit (see `TokenCacheDriver.obtain`). */
  readonly hits: HitHolder;
}

// ── obtaining the token ──

/**
 * Performs a prepared token decision through the cache, and re-checks the caller after waiting for
 * upstream. A token from memory is answered in the same turn (no promise); only a wait for upstream
 * returns one.
 */
export function obtainToken(
  parts: TokenCacheParts,
  decision: TokenDecision,
  prepared: PreparedFetch,
  trace: Trace,
  recheck: CallerRecheck,
  fetch?: TokenFetch,
  hits?: HitHolder,
): FlowResult | Promise<FlowResult> {
  trace.identity = prepared.identityLabel;
  if (prepared.clientId !== undefined) trace.clientId = prepared.clientId;
  // A memoised decision brings its fetch (built once: a closure per request cost an allocation on every hit).
  const obtained = parts.cache.obtain(prepared.key, prepared.version, fetch ?? fetchOf(parts, prepared, trace.pod?.uid ?? ""), hits);
  // A token from memory is answered in the same turn; only a wait for upstream goes through a promise.
  return obtained instanceof Promise
    ? obtained.then((o) => tokenResult(parts, decision, o, trace, recheck))
    : tokenResult(parts, decision, obtained, trace, recheck);
}

/** The upstream fetch of a prepared decision; the pod whose miss starts it queues it in its own line of the upstream gate (fair queueing). */
export function fetchOf(parts: Pick<TokenCacheParts, "fetcher">, prepared: PreparedFetch, queueKey: string): TokenFetch {
  return parts.fetcher.fetchFor(prepared.plan, prepared.clientIdHint, queueKey);
}

/**
 * The flow result of an issued IMDS-shaped token, one per token object: a cached token is answered with the
 * same result (and so the same rendered reply, see `RequestRecorder`) on every hit instead of new objects each
 * time. Weak keys: entries go with the tokens the cache drops.
 */
const issuedResults = new WeakMap<ImdsTokenBody, FlowResult>();

/** {@link issuedResults}' entry for `token`. */
function issuedResult(token: ImdsTokenBody): FlowResult {
  let result = issuedResults.get(token);
  if (result === undefined) {
    result = outcome({ kind: "issued", shape: "imds", token });
    issuedResults.set(token, result);
  }
  return result;
}

/** The flow result of what the cache answered. */
function tokenResult(parts: TokenCacheParts, decision: TokenDecision, obtained: ObtainedToken, trace: Trace, recheck: CallerRecheck): FlowResult {
  trace.cache = obtained.cache;
  parts.cacheRequests[obtained.cache].increment();
  if (obtained.upstreamMs !== undefined) trace.upstreamMs = obtained.upstreamMs;
  if (!obtained.result.ok) {
    const failure = obtained.result.error;
    return outcome(
      failure.kind === "token"
        ? { kind: "tokenFailed", error: failure.error }
        : failure.kind === "secret"
          ? { kind: "secretFailed", failure: failure.failure }
          : { kind: "serviceAccountTokenFailed", error: failure.error },
    );
  }
  if (obtained.cache === "miss" || obtained.cache === "joined") {
    // The request waited for upstream: the address may have changed hands meanwhile.
    const changed = recheck(decision.caller);
    if (changed !== undefined) return changed;
  }
  const token = obtained.result.value;
  if (decision.kind === "fetch" && decision.shape === "host") {
    return outcome({ kind: "issued", shape: "host", token, clientId: decision.identity.spec.clientID || token.client_id });
  }
  return issuedResult(token);
}

// ── the single-flight cache ──

/** The answer to one request. */
export interface ObtainedToken {
  readonly result: Result<ImdsTokenBody, FetchFailure>;
  readonly cache: CacheResult;
  /** Upstream latency of the fetch this request waited for (miss or joined). */
  readonly upstreamMs?: number;
}

/**
 * The answer to a hit on `token`, one per token object (a hit is nearly every request; weak keys, as
 * {@link issuedResults}).
 */
const hits = new WeakMap<ImdsTokenBody, ObtainedToken>();

/** {@link hits}' entry for `token`. */
function hitOf(token: ImdsTokenBody): ObtainedToken {
  let hit = hits.get(token);
  if (hit === undefined) {
    hit = { result: ok(token), cache: "hit" };
    hits.set(token, hit);
  }
  return hit;
}

interface Completion {
  readonly outcome: FetchOutcome;
  readonly fetched: TokenFetchResult;
}

interface RunningFetch {
  readonly done: Promise<Completion>;
  readonly controller: AbortController;
}

/** Requests re-run at most this often when the fetch they waited for was abandoned (identity changed). */
const MAX_ATTEMPTS = 3;
/** Housekeeping (dropping dead entries) every this many requests. */
const SWEEP_EVERY = 1024;

/** The answer after {@link MAX_ATTEMPTS} fetches were each abandoned by a change of the identity. */
const IDENTITY_KEPT_CHANGING: ObtainedToken = {
  result: err({ kind: "token", error: { kind: "unavailable", message: "the identity changed while its token was fetched; retry" } }),
  cache: "miss",
};

/**
 * Where a caller that asks for the same key at the same identity version again and again (a memoised decision)
 * keeps its last steady hit: the cache state it was read from, the end of its window (core's `steadyHit`) and
 * the answer. One holder serves one (key, identity version) only — the driver does not check which. Mutable,
 * owned by that caller; the driver alone reads and writes `steady`.
 */
export interface HitHolder {
  steady?: { readonly state: TokenCacheState; readonly untilMs: number; readonly hit: ObtainedToken } | undefined;
}

/** Hooks for what happens outside any request. */
export interface TokenCacheDriverHooks {
  /** A background refresh failed (the cached token is still served until it expires). */
  readonly onRefreshFailure?: (key: TokenCacheKey, failure: FetchFailure) => void;
}

/**
 * The async side of core's token cache: one upstream fetch per (identity, resource) at a time (single
 * flight), hits answered from memory, refresh ahead of expiry in the background, and tokens of an
 * identity dropped when its AzureIdentity changes. All policy (what is a hit, when to refresh, what a
 * completion may store) is core's; this class only runs fetches and hands their results to waiters.
 * Core's cache defaults apply (NMI has no flag for them).
 */
export class TokenCacheDriver {
  #state: TokenCacheState;
  readonly #clock: ClockPort;
  readonly #running = new Map<number, RunningFetch>();
  readonly #hooks: TokenCacheDriverHooks;
  #requests = 0;

  /** A driver over core's cache with its defaults (`config` overrides them in tests). */
  constructor(clock: ClockPort, config: Partial<TokenCacheConfig> = {}, hooks: TokenCacheDriverHooks = {}) {
    this.#clock = clock;
    this.#state = createTokenCache(config);
    this.#hooks = hooks;
  }

  /** Tokens cached right now. */
  get size(): number {
    return this.#state.entries.size;
  }

  /**
   * The token for `key` at `identityVersion`: cached, joined from a running fetch, or fetched with
   * `fetch` (only the first concurrent caller's `fetch` runs). A fetch abandoned because the identity
   * changed makes the request start over with the current version. Answers from memory (hit, hit with
   * a background refresh, replayed refusal) are returned synchronously — no promise, no microtask —
   * since they are nearly every request; only a request that waits for upstream gets a promise.
   */
  obtain(key: TokenCacheKey, identityVersion: string, fetch: TokenFetch, hits?: HitHolder): ObtainedToken | Promise<ObtainedToken> {
    const now = this.#clock.now();
    if (++this.#requests % SWEEP_EVERY === 0) this.#state = sweepTokenCache(this.#state, now);
    // A hit core called steady, on the very state it was read from and inside its window, is what core would
    // answer again (core's `steadyHit` property): answered without asking it, which allocates nothing.
    const kept = hits?.steady;
    if (kept !== undefined && kept.state === this.#state && now < kept.untilMs) return kept.hit;
    const obtained = this.#attempt(key, identityVersion, fetch, 0, now);
    if (hits !== undefined) {
      const steady = obtained instanceof Promise || obtained.cache !== "hit" ? undefined : steadyHit(this.#state, key, identityVersion, now);
      hits.steady = steady === undefined ? undefined : { state: this.#state, untilMs: steady.untilMs, hit: hitOf(steady.token) };
    }
    return obtained;
  }

  #attempt(key: TokenCacheKey, identityVersion: string, fetch: TokenFetch, attempt: number, now = this.#clock.now()): ObtainedToken | Promise<ObtainedToken> {
    if (attempt >= MAX_ATTEMPTS) return IDENTITY_KEPT_CHANGING;
    const step = requestToken(this.#state, key, identityVersion, now);
    this.#state = step.state;
    this.#abandon(step.abandoned);
    const decision = step.decision;
    switch (decision.kind) {
      case "hit":
        return hitOf(decision.token);
      case "hitAndRefresh":
        void this.#start(decision.fetchId, key, fetch).then((c) => this.#reportRefresh(key, c));
        return { result: ok(decision.token), cache: "refresh" };
      case "cachedRejection":
        return { result: err({ kind: "token", error: decision.error }), cache: "rejection" };
      case "join":
      case "fetch": {
        const running = decision.kind === "join" ? this.#running.get(decision.fetchId)?.done : this.#start(decision.fetchId, key, fetch);
        return this.#waitFor(running, decision.kind === "join" ? "joined" : "miss", key, identityVersion, fetch, attempt);
      }
    }
  }

  async #waitFor(
    running: Promise<Completion> | undefined,
    cache: CacheResult,
    key: TokenCacheKey,
    identityVersion: string,
    fetch: TokenFetch,
    attempt: number,
  ): Promise<ObtainedToken> {
    const completion = await running;
    if (completion === undefined || completion.outcome.kind === "stale") return this.#attempt(key, identityVersion, fetch, attempt + 1);
    return answer(completion, cache);
  }

  /** Drops every token and running fetch of an identity (its AzureIdentity changed or was deleted). */
  forget(identityKey: string): void {
    const step = forgetIdentity(this.#state, identityKey);
    this.#state = step.state;
    this.#abandon(step.abandoned);
  }

  /** Aborts every running fetch (shutdown). Their waiters receive the aborted fetches' failures. */
  close(): void {
    for (const running of this.#running.values()) running.controller.abort(new Error("NMI is shutting down"));
  }

  #start(fetchId: number, key: TokenCacheKey, fetch: TokenFetch): Promise<Completion> {
    const controller = new AbortController();
    const done = (async (): Promise<Completion> => {
      let fetched: TokenFetchResult;
      try {
        fetched = await fetch(controller.signal);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        fetched = { result: err({ kind: "token", error: { kind: "unavailable", message } }) };
      }
      const now = this.#clock.now();
      const step = fetched.result.ok
        ? fetchSucceeded(this.#state, key, fetchId, fetched.result.value, now)
        : fetchFailed(this.#state, key, fetchId, asSourceError(fetched.result.error), now);
      this.#state = step.state;
      this.#running.delete(fetchId);
      return { outcome: step.outcome, fetched };
    })();
    this.#running.set(fetchId, { done, controller });
    return done;
  }

  #abandon(fetchIds: readonly number[]): void {
    for (const id of fetchIds) this.#running.get(id)?.controller.abort(new Error("identity changed"));
  }

  #reportRefresh(key: TokenCacheKey, completion: Completion): void {
    const result = completion.fetched.result;
    if (!result.ok) this.#hooks.onRefreshFailure?.(key, result.error);
  }
}

/**
 * What the cache state records for a failure. A Secret or service-account token problem is not the token
 * source's refusal, so it is recorded as `unavailable`: never replayed from the negative cache (another pod of
 * the same service account may have a good token file), only delaying the next refresh.
 */
function asSourceError(failure: FetchFailure): TokenSourceError {
  if (failure.kind === "token") return failure.error;
  return failure.kind === "secret"
    ? { kind: "unavailable", message: `secret unusable: ${failure.failure.kind}` }
    : { kind: "unavailable", message: `service-account token unusable: ${failure.error.kind}` };
}

/** The caller's answer for a completed fetch: the token, or the failure exactly as it happened. */
function answer(completion: Completion, cache: CacheResult): ObtainedToken {
  const { outcome, fetched } = completion;
  const upstream = fetched.upstreamMs !== undefined ? { upstreamMs: fetched.upstreamMs } : {};
  switch (outcome.kind) {
    case "stored":
    case "passThrough":
      return { result: ok(outcome.token), cache, ...upstream };
    case "failed":
      // A token that arrived already expiring is core's `unavailable`; an upstream failure is reported as is.
      return { result: err(fetched.result.ok ? { kind: "token", error: outcome.error } : fetched.result.error), cache, ...upstream };
    case "stale":
      return { result: err({ kind: "token", error: { kind: "unavailable", message: "retry" } }), cache, ...upstream };
  }
}
