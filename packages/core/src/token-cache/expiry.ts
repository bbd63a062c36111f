import type { ImdsTokenBody } from "../ports/token-source.port.js";
import type { TokenCacheConfig } from "./config.js";

/** When a fetched token must stop being served and when it should be refreshed. */
export interface TokenTimes {
  /** Effective expiry in ms since the epoch (see {@link tokenTimes}). */
  readonly expiresAtMs: number;
  /** Serve from the cache only while `now < serveUntilMs` (expiry minus the skew). */
  readonly serveUntilMs: number;
  /**
   * From this instant a hit also starts a background refresh. Equal to `serveUntilMs` when the
   * token is too short-lived for a refresh-ahead window; then it simply expires from the cache.
   */
  readonly refreshAtMs: number;
}

/** How a fetched token can be used: cached, handed on uncached, or not at all. */
export type TokenTimesResult =
  | { readonly kind: "cacheable"; readonly times: TokenTimes }
  /** `expires_on` is missing or not plain seconds: hand the token on (as the original NMI did) but never cache it. */
  | { readonly kind: "unreadable" }
  /**
   * Already inside the skew when it arrived (a very slow upstream, or clock trouble): serving it would
   * hand the caller a token that dies in transit, so the fetch counts as a retryable failure.
   */
  | { readonly kind: "expiring"; readonly expiresAtMs: number };

/** Largest number of decimal digits accepted for a Unix-seconds field (year 5138 fits in 11). */
const MAX_SECONDS_DIGITS = 12;

/**
 * Parses a field holding whole seconds as a plain decimal string (IMDS's wire form, e.g.
 * `"1506484173"`). Anything else (signs, fractions, spaces, ISO dates) gives `undefined`: the cache
 * must not guess at an expiry it cannot read.
 */
export function parseWholeSeconds(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_SECONDS_DIGITS) return undefined;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 48 || code > 57) return undefined;
  }
  return Number(value);
}

/**
 * Works out a token's cache timings (see {@link TokenTimesResult} for the cases that are not cached).
 *
 * - The expiry is `expires_on` (mandatory: MSAL derives the lifetime from it,
 *   docs/compatibility.md#imds-wire-format), lowered to `requestedAtMs + expires_in` when that is earlier (a
 *   relative lifetime is immune to the node's clock differing from AAD's) and to
 *   `requestedAtMs + maxLifetimeMs`. Lowering is always safe: it only makes the cache refresh sooner.
 *   `requestedAtMs` is when the fetch started, the earliest the token can have been issued.
 * - A token already inside the skew at `nowMs` is `expiring`.
 * - Refresh-ahead starts when less than `max(minRefreshAheadMs, refreshAheadFraction × lifetime)` remains,
 *   lifetime measured from `nowMs`, but never sooner than `minRefreshIntervalMs` after `nowMs`.
 */
export function tokenTimes(
  token: ImdsTokenBody,
  requestedAtMs: number,
  nowMs: number,
  config: TokenCacheConfig,
): TokenTimesResult {
  const expiresOn = parseWholeSeconds(token.expires_on);
  if (expiresOn === undefined) return { kind: "unreadable" };
  let expiresAtMs = Math.min(expiresOn * 1000, requestedAtMs + config.maxLifetimeMs);
  const expiresIn = parseWholeSeconds(token.expires_in);
  if (expiresIn !== undefined) expiresAtMs = Math.min(expiresAtMs, requestedAtMs + expiresIn * 1000);
  const serveUntilMs = expiresAtMs - config.expirySkewMs;
  if (serveUntilMs <= nowMs) return { kind: "expiring", expiresAtMs };
  const lifetimeMs = expiresAtMs - nowMs;
  const aheadMs = Math.max(config.minRefreshAheadMs, lifetimeMs * config.refreshAheadFraction);
  const refreshAtMs = Math.min(serveUntilMs, Math.max(nowMs + config.minRefreshIntervalMs, Math.ceil(expiresAtMs - aheadMs)));
  return { kind: "cacheable", times: { expiresAtMs, serveUntilMs, refreshAtMs } };
}
