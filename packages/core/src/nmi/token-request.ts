import { err, ok, type Result } from "../result.js";
import type { HttpHeaders } from "./headers.js";
import type { QueryParams } from "./query.js";
import {
  checkForwardedHeaders,
  checkMetadataHeader,
  type ForwardedHeaderError,
  type MetadataHeaderError,
  type MetadataHeaderOptions,
} from "./request-headers.js";

/**
 * Parsing of an IMDS token request (`/metadata/identity/oauth2/token?resource=…&client_id=…`).
 * @packageDocumentation
 */

/** Query parameter names NMI reads. */
export const TOKEN_PARAM = {
  resource: "resource",
  clientId: "client_id",
  msiResId: "msi_res_id",
  /** Name used by App Service and others for `msi_res_id`; the original accepts it as a fallback (PR #1401). */
  miResId: "mi_res_id",
  objectId: "object_id",
  apiVersion: "api-version",
} as const;

/** Keys that must appear at most once and only in lower case. */
const STRICT_KEYS: readonly string[] = [
  TOKEN_PARAM.resource,
  TOKEN_PARAM.clientId,
  TOKEN_PARAM.msiResId,
  TOKEN_PARAM.miResId,
  TOKEN_PARAM.objectId,
];

/** How a caller names the identity it wants (IMDS's three mutually exclusive parameters). */
export type IdentitySelector =
  | { readonly by: "client_id"; readonly value: string }
  | { readonly by: "object_id"; readonly value: string }
  | { readonly by: "msi_res_id"; readonly value: string };

/** A valid token request. */
export interface TokenRequest {
  /** The `resource` (audience) asked for; never empty. */
  readonly resource: string;
  /** The identity asked for; absent = "the pod's identity" (or the node's system identity when excepted). */
  readonly selector?: IdentitySelector;
  /** `api-version` as sent (accepted, never required: NMI speaks one version of the token contract). */
  readonly apiVersion?: string;
}

/** Why the query of a token request was refused (all map to 400 `invalid_request`). */
export type TokenParameterError =
  /** `resource` absent or blank ("parameter resource cannot be empty" in the original). */
  | { readonly kind: "missingResource" }
  /** An identity or resource key given more than once: which value would win is ambiguous. */
  | { readonly kind: "repeatedParameter"; readonly name: string }
  /** A known key in another case (`Client_ID`): refused rather than silently ignored, which would pick a default identity. */
  | { readonly kind: "nonCanonicalParameter"; readonly name: string; readonly expected: string }
  /** More than one of `client_id`, `object_id`, `msi_res_id`/`mi_res_id` (IMDS: mutually exclusive). */
  | { readonly kind: "multipleSelectors"; readonly names: readonly string[] };

/** Why a token request was refused. */
export type TokenRequestError = MetadataHeaderError | ForwardedHeaderError | TokenParameterError;

/** Options of {@link parseTokenRequest}. */
export type TokenRequestOptions = MetadataHeaderOptions;

/** The single non-empty value of `key`, `undefined` when absent or empty. */
function single(query: QueryParams, key: string): string | undefined {
  const value = query.get(key)?.[0];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Reads `resource`, the identity selector and `api-version` from a parsed query. Unknown parameters
 * (`principal_id`, `bypass_cache`, `xms_cc`, `token_sha256_to_refresh`, …) are ignored as IMDS clients
 * expect. Unlike the original, `object_id` is honoured (it ignored it and answered with the default
 * identity) and giving two selectors is an error instead of `msi_res_id` silently losing to `client_id`.
 */
export function parseTokenParameters(query: QueryParams): Result<TokenRequest, TokenParameterError> {
  for (const key of query.keys()) {
    const lower = key.toLowerCase();
    if (lower !== key && STRICT_KEYS.includes(lower)) {
      return err({ kind: "nonCanonicalParameter", name: key, expected: lower });
    }
  }
  for (const key of STRICT_KEYS) {
    if ((query.get(key)?.length ?? 0) > 1) return err({ kind: "repeatedParameter", name: key });
  }
  const resource = query.get(TOKEN_PARAM.resource)?.[0];
  if (resource === undefined || resource.trim() === "") return err({ kind: "missingResource" });

  const candidates: IdentitySelector[] = [];
  const clientId = single(query, TOKEN_PARAM.clientId);
  if (clientId !== undefined) candidates.push({ by: "client_id", value: clientId });
  const objectId = single(query, TOKEN_PARAM.objectId);
  if (objectId !== undefined) candidates.push({ by: "object_id", value: objectId });
  const msiResId = single(query, TOKEN_PARAM.msiResId);
  const miResId = single(query, TOKEN_PARAM.miResId);
  if (msiResId !== undefined && miResId !== undefined && msiResId.toLowerCase() !== miResId.toLowerCase()) {
    return err({ kind: "multipleSelectors", names: [TOKEN_PARAM.msiResId, TOKEN_PARAM.miResId] });
  }
  const resId = msiResId ?? miResId;
  if (resId !== undefined) candidates.push({ by: "msi_res_id", value: resId });
  if (candidates.length > 1) return err({ kind: "multipleSelectors", names: candidates.map((c) => c.by) });

  const apiVersion = query.get(TOKEN_PARAM.apiVersion)?.[0];
  const selector = candidates[0];
  return ok({
    resource,
    ...(selector !== undefined ? { selector } : {}),
    ...(apiVersion !== undefined ? { apiVersion } : {}),
  });
}

/**
 * Parses a token request in the original's order: the `Metadata` header first (so a probe without it,
 * such as `DefaultAzureCredential`'s, gets the 400 that marks the endpoint as present even with no
 * `resource`), then the forwarding headers, then the query.
 */
export function parseTokenRequest(
  query: QueryParams,
  headers: HttpHeaders,
  options: TokenRequestOptions,
): Result<TokenRequest, TokenRequestError> {
  const metadata = checkMetadataHeader(headers, options);
  if (!metadata.ok) return metadata;
  const forwarded = checkForwardedHeaders(headers);
  if (!forwarded.ok) return forwarded;
  return parseTokenParameters(query);
}
