import type { ImdsTokenBody, TokenSourceError } from "../ports/token-source.port.js";
import type { TokenCacheConfig } from "./config.js";
import { DEFAULT_TOKEN_CACHE_CONFIG } from "./config.js";
import { tokenTimes } from "./expiry.js";
import type { TokenCacheKey } from "./key.js";
import { encodeTokenCacheKey } from "./key.js";

/** No fetch abandoned (shared, so the common case allocates nothing). */
const NONE_ABANDONED: readonly number[] = Object.freeze([]);

/** A stored token and the facts the policy needs about it. */
export interface TokenCacheEntry {
  readonly key: TokenCacheKey;
  readonly token: ImdsTokenBody;
  /** Effective expiry (ms since the epoch), see `tokenTimes`. */
  readonly expiresAtMs: number;
  readonly serveUntilMs: number;
  readonly refreshAtMs: number;
  /** When the fetch that produced it completed. */
  readonly fetchedAtMs: number;
  /** The identity version the token was fetched for; only requests for that version see it. */
  readonly identityVersion: string;
  /** No new refresh before this instant (set after a failed or useless refresh). */
  readonly refreshBlockedUntilMs: number;
  /** The last use recorded in the recency order (see `recencyGranularityMs`). */
  readonly usedAtMs: number;
}

/** Why an upstream fetch was started: a miss (callers wait) or a refresh-ahead (callers were served). */
export type FetchPurpose = "miss" | "refresh";

/** An upstream fetch the cache is waiting for. */
export interface InFlightFetch {
  readonly fetchId: number;
  readonly key: TokenCacheKey;
  readonly identityVersion: string;
  readonly startedAtMs: number;
  readonly purpose: FetchPurpose;
}

/** A replayed refusal (see {@link TokenCacheConfig.rejectedTtlMs}). */
export interface NegativeEntry {
  readonly key: TokenCacheKey;
  readonly error: Extract<TokenSourceError, { kind: "rejected" }>;
  readonly identityVersion: string;
  readonly untilMs: number;
}

/**
 * The whole cache as an immutable value. Maps are keyed by `encodeTokenCacheKey`; the insertion
 * order of `entries` is the recency order (oldest first), which makes LRU eviction a walk from the front.
 */
export interface TokenCacheState {
  readonly config: TokenCacheConfig;
  readonly entries: ReadonlyMap<string, TokenCacheEntry>;
  /** At most one live fetch per key: this map is the single-flight table. */
  readonly inFlight: ReadonlyMap<string, InFlightFetch>;
  readonly negative: ReadonlyMap<string, NegativeEntry>;
  /** The current version of every identity the cache has seen. */
  readonly identityVersions: ReadonlyMap<string, string>;
  readonly nextFetchId: number;
}

/** What to do with one caller's request. */
export type TokenRequestDecision =
  /** Serve this cached token. */
  | { readonly kind: "hit"; readonly token: ImdsTokenBody; readonly expiresAtMs: number }
  /** Serve this cached token and start upstream fetch `fetchId` in the background. */
  | { readonly kind: "hitAndRefresh"; readonly token: ImdsTokenBody; readonly expiresAtMs: number; readonly fetchId: number }
  /** Wait for fetch `fetchId`, already under way for this key. */
  | { readonly kind: "join"; readonly fetchId: number }
  /** Start upstream fetch `fetchId` (for `key.resource`) and wait for it. */
  | { readonly kind: "fetch"; readonly fetchId: number }
  /** Answer with this recent refusal without asking upstream. */
  | { readonly kind: "cachedRejection"; readonly error: Extract<TokenSourceError, { kind: "rejected" }>; readonly retryAfterMs: number };

/** The result of {@link requestToken}. */
export interface TokenRequestStep {
  readonly state: TokenCacheState;
  readonly decision: TokenRequestDecision;
  /**
   * Fetches of an older version of this identity that the request superseded; the driver should
   * cancel them. Their completions are ignored and their waiters told to retry.
   */
  readonly abandoned: readonly number[];
}

/** What the waiters of a completed fetch get. */
export type FetchOutcome =
  /** The token, now cached. */
  | { readonly kind: "stored"; readonly token: ImdsTokenBody; readonly expiresAtMs: number }
  /** The token, handed on but not cached because its `expires_on` cannot be read. */
  | { readonly kind: "passThrough"; readonly token: ImdsTokenBody }
  /**
   * The upstream error, or an `unavailable` error when the token arrived already inside the expiry
   * skew (it would die in transit; the caller should retry).
   */
  | { readonly kind: "failed"; readonly error: TokenSourceError }
  /**
   * The fetch was abandoned (identity invalidated) or is unknown: nothing was cached, and waiters
   * must re-run their request with the identity's current version instead of using this result.
   */
  | { readonly kind: "stale" };

/** The result of {@link fetchSucceeded} and {@link fetchFailed}. */
export interface FetchStep {
  readonly state: TokenCacheState;
  readonly outcome: FetchOutcome;
}

/** The result of {@link invalidateIdentity} and {@link forgetIdentity}. */
export interface InvalidationStep {
  readonly state: TokenCacheState;
  /** In-flight fetches that will now be ignored on completion; cancel them. */
  readonly abandoned: readonly number[];
}

/** An empty cache; `config` overrides any of {@link DEFAULT_TOKEN_CACHE_CONFIG}. */
export function createTokenCache(config: Partial<TokenCacheConfig> = {}): TokenCacheState {
  return {
    config: { ...DEFAULT_TOKEN_CACHE_CONFIG, ...config },
    entries: new Map(),
    inFlight: new Map(),
    negative: new Map(),
    identityVersions: new Map(),
    nextFetchId: 1,
  };
}

/**
 * Decides how to answer a request for `key` made with the identity at `identityVersion`.
 *
 * Order: a servable cached token (`hit`, or `hitAndRefresh` inside the refresh-ahead window when no
 * fetch is running), then a replayed refusal, then joining the running fetch (single flight), and
 * only then a new fetch. A version different from the one the cache knows replaces it first, as
 * {@link invalidateIdentity} would: the caller resolved that identity just now, and no token or
 * fetch of another version may answer it.
 */
export function requestToken(state: TokenCacheState, key: TokenCacheKey, identityVersion: string, nowMs: number): TokenRequestStep {
  const invalidation = invalidateIdentity(state, key.identityKey, identityVersion);
  let next = invalidation.state;
  const abandoned = invalidation.abandoned;
  const k = encodeTokenCacheKey(key);
  const entry = next.entries.get(k);
  if (entry !== undefined) {
    if (nowMs < entry.serveUntilMs) {
      // Recency is recorded at most once per granularity interval, so most hits leave the state as it is.
      const stale = nowMs - entry.usedAtMs >= next.config.recencyGranularityMs;
      if (stale) next = { ...next, entries: touch(next.entries, k, { ...entry, usedAtMs: nowMs }) };
      const wantsRefresh = nowMs >= entry.refreshAtMs && nowMs >= entry.refreshBlockedUntilMs && !next.inFlight.has(k);
      if (!wantsRefresh) {
        return { state: next, decision: { kind: "hit", token: entry.token, expiresAtMs: entry.expiresAtMs }, abandoned };
      }
      const started = startFetch(next, k, key, identityVersion, nowMs, "refresh");
      return {
        state: started.state,
        decision: { kind: "hitAndRefresh", token: entry.token, expiresAtMs: entry.expiresAtMs, fetchId: started.fetchId },
        abandoned,
      };
    }
    next = { ...next, entries: without(next.entries, k) };
  }
  const negative = next.negative.get(k);
  if (negative !== undefined) {
    if (nowMs < negative.untilMs) {
      return { state: next, decision: { kind: "cachedRejection", error: negative.error, retryAfterMs: negative.untilMs - nowMs }, abandoned };
    }
    next = { ...next, negative: without(next.negative, k) };
  }
  const running = next.inFlight.get(k);
  if (running !== undefined) return { state: next, decision: { kind: "join", fetchId: running.fetchId }, abandoned };
  const started = startFetch(next, k, key, identityVersion, nowMs, "miss");
  return { state: started.state, decision: { kind: "fetch", fetchId: started.fetchId }, abandoned };
}

/** A plain hit that stays the answer while the cache state is unchanged (see {@link steadyHit}). */
export interface SteadyHit {
  readonly token: ImdsTokenBody;
  readonly expiresAtMs: number;
  /** The first instant at which {@link requestToken} on the same state no longer answers this hit unchanged. */
  readonly untilMs: number;
}

/**
 * How long the same request keeps being a plain hit that changes nothing. For every `t < untilMs`,
 * `requestToken(state, key, identityVersion, t)` returns `state` itself, a `hit` with this token and no
 * abandoned fetch — so a caller that kept `state` may answer from the token without asking again, as long
 * as the state it holds is still this one. `undefined` when the request at `nowMs` is not such a hit (a
 * miss, a refresh due, a recency update due, another identity version). The window ends at the first of:
 * the token's last servable instant, the next recency update, and — unless a fetch for the key is already
 * running — the refresh-ahead point (or the end of a refresh block).
 */
export function steadyHit(state: TokenCacheState, key: TokenCacheKey, identityVersion: string, nowMs: number): SteadyHit | undefined {
  if (state.identityVersions.get(key.identityKey) !== identityVersion) return undefined;
  const k = encodeTokenCacheKey(key);
  const entry = state.entries.get(k);
  if (entry === undefined) return undefined;
  const refreshFrom = state.inFlight.has(k) ? Number.POSITIVE_INFINITY : Math.max(entry.refreshAtMs, entry.refreshBlockedUntilMs);
  const untilMs = Math.min(entry.serveUntilMs, entry.usedAtMs + state.config.recencyGranularityMs, refreshFrom);
  return nowMs < untilMs ? { token: entry.token, expiresAtMs: entry.expiresAtMs, untilMs } : undefined;
}

/**
 * Records that fetch `fetchId` for `key` returned `token`. A completion that is not the key's live
 * fetch (abandoned by an invalidation, or a duplicate) is `stale` and changes nothing, so a token of
 * a superseded identity version can never enter the cache. A token that cannot be cached is handed
 * on when its expiry is unreadable and refused when it is already within the skew; either way a
 * still-valid older token stays, and its next refresh waits `refreshRetryMs`.
 */
export function fetchSucceeded(state: TokenCacheState, key: TokenCacheKey, fetchId: number, token: ImdsTokenBody, nowMs: number): FetchStep {
  const k = encodeTokenCacheKey(key);
  const running = state.inFlight.get(k);
  if (running === undefined || running.fetchId !== fetchId) return { state, outcome: { kind: "stale" } };
  const base: TokenCacheState = { ...state, inFlight: without(state.inFlight, k), negative: without(state.negative, k) };
  const usable = tokenTimes(token, running.startedAtMs, nowMs, state.config);
  if (usable.kind === "unreadable") return { state: blockRefresh(base, k, nowMs), outcome: { kind: "passThrough", token } };
  if (usable.kind === "expiring") {
    const message = `upstream returned a token expiring at ${usable.expiresAtMs}, within ${state.config.expirySkewMs} ms of now`;
    return { state: blockRefresh(base, k, nowMs), outcome: { kind: "failed", error: { kind: "unavailable", message } } };
  }
  const times = usable.times;
  const entry: TokenCacheEntry = {
    key: running.key,
    token,
    expiresAtMs: times.expiresAtMs,
    serveUntilMs: times.serveUntilMs,
    refreshAtMs: times.refreshAtMs,
    fetchedAtMs: nowMs,
    identityVersion: running.identityVersion,
    refreshBlockedUntilMs: nowMs,
    usedAtMs: nowMs,
  };
  const entries = evictToFit(touch(base.entries, k, entry), state.config.maxEntries, nowMs);
  return { state: { ...base, entries }, outcome: { kind: "stored", token, expiresAtMs: times.expiresAtMs } };
}

/**
 * Records that fetch `fetchId` for `key` failed. Failures are not cached, with two exceptions:
 * a `rejected` answer is replayed for `rejectedTtlMs` and also drops any cached token for the key
 * (upstream's refusal is authoritative, e.g. the identity left the VM); other errors leave a
 * still-valid token in place to ride out an IMDS outage, and only delay its next refresh.
 */
export function fetchFailed(state: TokenCacheState, key: TokenCacheKey, fetchId: number, error: TokenSourceError, nowMs: number): FetchStep {
  const k = encodeTokenCacheKey(key);
  const running = state.inFlight.get(k);
  if (running === undefined || running.fetchId !== fetchId) return { state, outcome: { kind: "stale" } };
  const base: TokenCacheState = { ...state, inFlight: without(state.inFlight, k) };
  if (error.kind !== "rejected") return { state: blockRefresh(base, k, nowMs), outcome: { kind: "failed", error } };
  const entries = without(base.entries, k);
  const negative =
    state.config.rejectedTtlMs > 0
      ? withEntry(base.negative, k, {
          key: running.key,
          error,
          identityVersion: running.identityVersion,
          untilMs: nowMs + state.config.rejectedTtlMs,
        })
      : base.negative;
  return { state: { ...base, entries, negative }, outcome: { kind: "failed", error } };
}

/**
 * Moves an identity to `newVersion` (its AzureIdentity's resourceVersion, client id, or secret
 * changed): drops its tokens and refusals and abandons its fetches. The same version again is a
 * no-op, so informer resyncs, which redeliver unchanged objects, do not flush the cache.
 */
export function invalidateIdentity(state: TokenCacheState, identityKey: string, newVersion: string): InvalidationStep {
  const current = state.identityVersions.get(identityKey);
  if (current === newVersion) return { state, abandoned: NONE_ABANDONED };
  const dropped = dropIdentity(state, identityKey);
  const identityVersions = withEntry(state.identityVersions, identityKey, newVersion);
  return { state: { ...dropped.state, identityVersions }, abandoned: dropped.abandoned };
}

/** Forgets an identity entirely (its AzureIdentity was deleted): tokens, refusals, fetches and version. */
export function forgetIdentity(state: TokenCacheState, identityKey: string): InvalidationStep {
  const dropped = dropIdentity(state, identityKey);
  return { state: { ...dropped.state, identityVersions: without(state.identityVersions, identityKey) }, abandoned: dropped.abandoned };
}

/** Housekeeping: drops tokens no longer servable and refusals past their time. */
export function sweepTokenCache(state: TokenCacheState, nowMs: number): TokenCacheState {
  const liveEntries = [...state.entries].filter(([, e]) => nowMs < e.serveUntilMs);
  const liveNegative = [...state.negative].filter(([, n]) => nowMs < n.untilMs);
  // Nothing to drop: the state itself, so a holder of it (see `steadyHit`) stays current.
  if (liveEntries.length === state.entries.size && liveNegative.length === state.negative.size) return state;
  return { ...state, entries: new Map(liveEntries), negative: new Map(liveNegative) };
}

function startFetch(
  state: TokenCacheState,
  k: string,
  key: TokenCacheKey,
  identityVersion: string,
  nowMs: number,
  purpose: FetchPurpose,
): { state: TokenCacheState; fetchId: number } {
  const fetchId = state.nextFetchId;
  const fetch: InFlightFetch = { fetchId, key, identityVersion, startedAtMs: nowMs, purpose };
  return { state: { ...state, inFlight: withEntry(state.inFlight, k, fetch), nextFetchId: fetchId + 1 }, fetchId };
}

function blockRefresh(state: TokenCacheState, k: string, nowMs: number): TokenCacheState {
  const entry = state.entries.get(k);
  if (entry === undefined) return state;
  const blocked: TokenCacheEntry = { ...entry, refreshBlockedUntilMs: nowMs + state.config.refreshRetryMs };
  const entries = new Map(state.entries);
  entries.set(k, blocked); // same position: a failed refresh is not a use
  return { ...state, entries };
}

function dropIdentity(state: TokenCacheState, identityKey: string): InvalidationStep {
  const mine = (key: TokenCacheKey): boolean => key.identityKey === identityKey;
  const abandoned = [...state.inFlight.values()].filter((f) => mine(f.key)).map((f) => f.fetchId);
  const touches = abandoned.length > 0 || [...state.entries.values(), ...state.negative.values()].some((e) => mine(e.key));
  if (!touches) {
    return { state, abandoned };
  }
  return {
    state: {
      ...state,
      entries: new Map([...state.entries].filter(([, e]) => !mine(e.key))),
      inFlight: new Map([...state.inFlight].filter(([, f]) => !mine(f.key))),
      negative: new Map([...state.negative].filter(([, n]) => !mine(n.key))),
    },
    abandoned,
  };
}

/**
 * Expired entries first (oldest first among them), then least recently used, until within `max`.
 * The newest entry (last) always stays, so a stored token is really stored even with `max` below 1.
 */
function evictToFit(entries: ReadonlyMap<string, TokenCacheEntry>, maxEntries: number, nowMs: number): ReadonlyMap<string, TokenCacheEntry> {
  const max = Math.max(1, maxEntries);
  if (entries.size <= max) return entries;
  const result = new Map(entries);
  for (const [k, e] of entries) {
    if (result.size <= max) return result;
    if (nowMs >= e.serveUntilMs) result.delete(k);
  }
  for (const k of entries.keys()) {
    if (result.size <= max) break;
    result.delete(k);
  }
  return result;
}

function touch<V>(map: ReadonlyMap<string, V>, k: string, value: V): ReadonlyMap<string, V> {
  const result = new Map(map);
  result.delete(k);
  result.set(k, value);
  return result;
}

function withEntry<V>(map: ReadonlyMap<string, V>, k: string, value: V): ReadonlyMap<string, V> {
  const result = new Map(map);
  result.set(k, value);
  return result;
}

function without<V>(map: ReadonlyMap<string, V>, k: string): ReadonlyMap<string, V> {
  if (!map.has(k)) return map;
  const result = new Map(map);
  result.delete(k);
  return result;
}
