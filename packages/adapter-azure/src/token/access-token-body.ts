import type { AccessToken } from "@azure/core-auth";
import { toImdsTokenBody, type ImdsTokenBody, type Result, type TokenBodyError } from "@podid/core";

/**
 * The AAD v2 scope that stands for an AAD v1 `resource` (what pods ask IMDS for): `<resource>/.default`,
 * keeping a trailing slash of the resource (`https://management.azure.com/` → `https://management.azure.com//.default`,
 * whose tokens carry `aud` `https://management.azure.com/`, as the v1 endpoint the original used would).
 */
export function resourceToScope(resource: string): string {
  return resource.endsWith("/.default") ? resource : `${resource}/.default`;
}

/** The numeric claims `nbf` and `exp` of a JWT access token; empty when the token is not a readable JWT. */
export function jwtTimes(token: string): { readonly nbf?: number; readonly exp?: number } {
  const payload = token.split(".")[1];
  if (payload === undefined) return {};
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as unknown;
    if (typeof claims !== "object" || claims === null) return {};
    const read = (name: string): number | undefined => {
      const value = (claims as Record<string, unknown>)[name];
      return typeof value === "number" && Number.isFinite(value) ? Math.floor(value) : undefined;
    };
    const nbf = read("nbf");
    const exp = read("exp");
    return { ...(nbf !== undefined ? { nbf } : {}), ...(exp !== undefined ? { exp } : {}) };
  } catch {
    return {};
  }
}

/** What an `AccessToken` does not say about itself. */
export interface AccessTokenContext {
  readonly resource: string;
  /** Client id of the service principal the token is for. */
  readonly clientId: string;
  readonly nowMs: number;
}

/**
 * An IMDS-shaped body for a token `@azure/identity` obtained from AAD (types 1 and 2), so pods get the
 * same shape whichever way the token was made: `expires_on` from `expiresOnTimestamp` — but never later than
 * the JWT's own `exp` (MSAL computes the timestamp as receipt time + `expires_in`, which can overshoot `exp`
 * by a second; IMDS reports `exp` itself) — `not_before` from the JWT's `nbf`, plus `resource` and
 * `client_id`; core's `toImdsTokenBody` fills in and stringifies the rest.
 */
export function accessTokenBody(token: AccessToken, context: AccessTokenContext): Result<ImdsTokenBody, TokenBodyError> {
  const { nbf, exp } = jwtTimes(token.token);
  const expiresOn = Math.floor(token.expiresOnTimestamp / 1000);
  return toImdsTokenBody(
    {
      access_token: token.token,
      expires_on: exp === undefined ? expiresOn : Math.min(exp, expiresOn),
      ...(nbf !== undefined ? { not_before: nbf } : {}),
      resource: context.resource,
      token_type: token.tokenType ?? "Bearer",
      client_id: context.clientId,
    },
    { nowMs: context.nowMs, clientId: context.clientId, resource: context.resource },
  );
}
