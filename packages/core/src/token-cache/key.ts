import type { Result } from "../result.js";
import { err, ok } from "../result.js";

/**
 * What one cached token is for: an identity and a resource (audience).
 *
 * `identityKey` is opaque to the cache; the NMI builds it from the identity it resolved, e.g.
 * `client:<lower-case client id>` for a managed identity or `resid:<lower-case ARM id>` when the
 * caller asked by `msi_res_id`. Two requests share a token only when both parts are equal.
 */
export interface TokenCacheKey {
  readonly identityKey: string;
  /**
   * The resource exactly as it must be sent upstream. Only surrounding whitespace is removed; case
   * and a trailing `/` are kept because AAD v1 echoes the requested string into the token's `aud`
   * claim, so `https://x/` and `https://x` yield tokens with different audiences and an API that
   * checks `aud` exactly accepts only one of them.
   */
  readonly resource: string;
}

/** Why a {@link TokenCacheKey} could not be built. */
export type TokenCacheKeyError =
  | { readonly kind: "emptyIdentityKey" }
  | { readonly kind: "emptyResource" };

/**
 * Builds the cache key for a request. The resource is trimmed (a stray space from a hand-written
 * query string must not split the cache) but otherwise kept verbatim; see {@link TokenCacheKey.resource}.
 * The NMI must then ask upstream for `key.resource` so the cached token matches its key.
 */
export function tokenCacheKey(identityKey: string, resource: string): Result<TokenCacheKey, TokenCacheKeyError> {
  if (identityKey.length === 0) return err({ kind: "emptyIdentityKey" });
  const trimmed = resource.trim();
  if (trimmed.length === 0) return err({ kind: "emptyResource" });
  return ok({ identityKey, resource: trimmed });
}

/**
 * A collision-free string form of a key for use in maps: the identity key's length prefixes it, so
 * no choice of characters in either part can make two different keys encode alike. Built on every call
 * rather than remembered per key object: NMI builds a fresh key for every request it decides, and an
 * entry per fresh key in a `WeakMap` cost more than the string (such tables are rehashed as they grow and
 * swept by every young-generation collection) — in an in-process benchmark of decided requests, about 7 %
 * of the request (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, seventh addendum).
 */
export function encodeTokenCacheKey(key: TokenCacheKey): string {
  return `${key.identityKey.length}:${key.identityKey}${key.resource}`;
}
