/**
 * Tunables of the token cache. Defaults are in {@link DEFAULT_TOKEN_CACHE_CONFIG}; every value is in
 * milliseconds unless named otherwise.
 */
export interface TokenCacheConfig {
  /**
   * A cached token is served only while `now < expiresAt - expirySkewMs`, so a caller never receives
   * a token that expires while its request is on the wire or because of small clock differences.
   */
  readonly expirySkewMs: number;
  /** Refresh ahead once less than `max(minRefreshAheadMs, refreshAheadFraction × lifetime)` remains. */
  readonly minRefreshAheadMs: number;
  /** See {@link TokenCacheConfig.minRefreshAheadMs}; 0.2 means "refresh at 80 % of the lifetime". */
  readonly refreshAheadFraction: number;
  /**
   * The earliest a refresh may start after the token was fetched. IMDS caches tokens itself and may
   * hand back the same nearly-expired token, which would otherwise trigger a refresh on every hit.
   */
  readonly minRefreshIntervalMs: number;
  /** After a failed or useless refresh, wait this long before refreshing the same entry again. */
  readonly refreshRetryMs: number;
  /**
   * Upper bound on a token's lifetime as seen by the cache. IMDS tokens live at most 24 h; a bogus
   * far-future `expires_on` (e.g. milliseconds sent as seconds) would otherwise pin a token forever.
   */
  readonly maxLifetimeMs: number;
  /**
   * How long a `rejected` answer (IMDS/AAD refused, e.g. "Identity not found", issue #1085) is
   * replayed to callers without asking upstream again; 0 disables. Kept short because such answers
   * clear up once MIC finishes an assignment. `unavailable` and `throttled` are never cached.
   */
  readonly rejectedTtlMs: number;
  /** Most tokens kept (at least 1); beyond it expired entries go first, then the least recently used. */
  readonly maxEntries: number;
  /**
   * Recency is recorded at this granularity: a hit moves its token to the most-recent end only when
   * its last recorded use is at least this old. Eviction order is then LRU to within this interval,
   * and a hit in the common case (the same token asked for again and again) changes no state at all,
   * where exact LRU would copy the whole entry map on every hit. 0 records every use.
   */
  readonly recencyGranularityMs: number;
}

/**
 * Defaults: 60 s skew, refresh at 80 % of the lifetime but at least 5 min before expiry
 * (docs/compatibility.md#token-cache-and-upstream-limits; MSAL likewise refreshes long-lived managed-identity
 * tokens at half their life), 60 s between refreshes, 24 h lifetime cap, 5 s negative cache for refusals,
 * 2048 entries, recency kept to 1 s.
 */
export const DEFAULT_TOKEN_CACHE_CONFIG: TokenCacheConfig = {
  expirySkewMs: 60_000,
  minRefreshAheadMs: 5 * 60_000,
  refreshAheadFraction: 0.2,
  minRefreshIntervalMs: 60_000,
  refreshRetryMs: 30_000,
  maxLifetimeMs: 24 * 3_600_000,
  rejectedTtlMs: 5_000,
  maxEntries: 2048,
  recencyGranularityMs: 1_000,
};
