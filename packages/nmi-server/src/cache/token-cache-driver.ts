import {
  createTokenCache,
  err,
  fetchFailed,
  fetchSucceeded,
  forgetIdentity,
  ok,
  requestToken,
  sweepTokenCache,
  type ClockPort,
  type FetchOutcome,
  type ImdsTokenBody,
  type Result,
  type SecretFailure,
  type TokenCacheConfig,
  type TokenCacheKey,
  type TokenCacheState,
  type TokenSourceError,
} from "@podid/core";

/**
 * The async side of core's token cache: one upstream fetch per (identity, resource) at a time
 * (single flight), hits answered from memory, refresh ahead of expiry in the background, and tokens of an
 * identity dropped when its AzureIdentity changes. All policy (what is a hit, when to refresh, what a
 * completion may store) is core's; this class only runs fetches and hands their results to waiters.
 * @packageDocumentation
 */

/** Why a token could not be fetched: the token source failed, or the identity's Secret was unusable. */
export type FetchFailure =
  | { readonly kind: "token"; readonly error: TokenSourceError }
  | { readonly kind: "secret"; readonly failure: SecretFailure };

/** What one upstream fetch produced, and how long the upstream call took. */
export interface TokenFetchResult {
  readonly result: Result<ImdsTokenBody, FetchFailure>;
  /** Milliseconds spent in the token source (absent when it was never called). */
  readonly upstreamMs?: number;
}

/** Performs one upstream fetch; `signal` aborts when the fetch is abandoned or the driver closes. */
export type TokenFetch = (signal: AbortSignal) => Promise<TokenFetchResult>;

/** How the cache answered: from memory, from memory with a refresh started, by joining, by fetching, or a replayed refusal. */
export type CacheResult = "hit" | "refresh" | "joined" | "miss" | "rejection";

/** The answer to one request. */
export interface ObtainedToken {
  readonly result: Result<ImdsTokenBody, FetchFailure>;
  readonly cache: CacheResult;
  /** Upstream latency of the fetch this request waited for (miss or joined). */
  readonly upstreamMs?: number;
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

/** Hooks for what happens outside any request. */
export interface TokenCacheDriverHooks {
  /** A background refresh failed (the cached token is still served until it expires). */
  readonly onRefreshFailure?: (key: TokenCacheKey, failure: FetchFailure) => void;
}

/** Single-flight token cache driver over core's pure cache. */
export class TokenCacheDriver {
  #state: TokenCacheState;
  readonly #clock: ClockPort;
  readonly #running = new Map<number, RunningFetch>();
  readonly #hooks: TokenCacheDriverHooks;
  #requests = 0;

  /** A driver with core's defaults overridden by `config`. */
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
  obtain(key: TokenCacheKey, identityVersion: string, fetch: TokenFetch): ObtainedToken | Promise<ObtainedToken> {
    if (++this.#requests % SWEEP_EVERY === 0) this.#state = sweepTokenCache(this.#state, this.#clock.now());
    return this.#attempt(key, identityVersion, fetch, 0);
  }

  #attempt(key: TokenCacheKey, identityVersion: string, fetch: TokenFetch, attempt: number): ObtainedToken | Promise<ObtainedToken> {
    if (attempt >= MAX_ATTEMPTS) return IDENTITY_KEPT_CHANGING;
    const step = requestToken(this.#state, key, identityVersion, this.#clock.now());
    this.#state = step.state;
    this.#abandon(step.abandoned);
    const decision = step.decision;
    switch (decision.kind) {
      case "hit":
        return { result: ok(decision.token), cache: "hit" };
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
 * What the cache state records for a failure. A Secret problem is not the token source's refusal, so it
 * is recorded as `unavailable`: never replayed from the negative cache, only delaying the next refresh.
 */
function asSourceError(failure: FetchFailure): TokenSourceError {
  return failure.kind === "token" ? failure.error : { kind: "unavailable", message: `secret unusable: ${failure.failure.kind}` };
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
