import { err, ok, type Result } from "../result.js";
import type { ImdsTokenBody } from "../ports/token-source.port.js";

/**
 * Normalising any token response (IMDS, AAD v1 or v2, App Service style) into IMDS's all-string shape.
 * @packageDocumentation
 */

/** What is known about the token besides the raw response. */
export interface TokenBodyContext {
  /** Now, in milliseconds since the epoch (from the ClockPort). */
  readonly nowMs: number;
  /** Client id of the identity the token is for (filled in when the response lacks `client_id`). */
  readonly clientId: string;
  /** The requested resource (filled in when the response lacks `resource`). */
  readonly resource: string;
}

/** Why a response cannot be turned into a token body. */
export interface TokenBodyError {
  readonly kind: "invalidTokenResponse";
  readonly reason: string;
}

/** The string form of a JSON value; `undefined` for `null`/`undefined` (treated as absent). */
function stringify(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Whole seconds from a number or numeric string; `undefined` otherwise. */
function seconds(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? Math.floor(value) : undefined;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.floor(Number(value));
  return undefined;
}

/** Unix seconds of an `expires_on`: numeric, or a date string (App Service sends ISO-8601 / RFC 1123). */
function absoluteSeconds(value: unknown): number | undefined {
  const numeric = seconds(value);
  if (numeric !== undefined) return numeric;
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * IMDS's token shape from `raw`: every value a string (numbers and booleans stringified, objects as JSON,
 * `null` dropped), unknown fields passed through, and these always present — `access_token` (required,
 * non-empty), `expires_on` (Unix seconds; from `expires_in` + now when missing, converted when a date
 * string), `expires_in` (from `expires_on` − now when missing, never negative), `client_id` (the identity's
 * when missing: the original omitted it, IMDS includes it), `resource`, `token_type` (`Bearer`),
 * `refresh_token` (`""`) and `not_before` (now when missing; no client reads it). MSAL derives the lifetime
 * from `expires_on`, so a response with neither expiry field is refused.
 */
export function toImdsTokenBody(raw: Readonly<Record<string, unknown>>, context: TokenBodyContext): Result<ImdsTokenBody, TokenBodyError> {
  const accessToken = stringify(raw["access_token"]);
  if (accessToken === undefined || accessToken === "") return err({ kind: "invalidTokenResponse", reason: "no access_token" });
  const nowSeconds = Math.floor(context.nowMs / 1000);
  const expiresIn = seconds(raw["expires_in"]);
  const expiresOnRaw = absoluteSeconds(raw["expires_on"]);
  const expiresOn = expiresOnRaw ?? (expiresIn === undefined ? undefined : nowSeconds + expiresIn);
  if (expiresOn === undefined) return err({ kind: "invalidTokenResponse", reason: "neither expires_on nor expires_in" });
  const extras: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    const text = stringify(value);
    if (text !== undefined) Object.defineProperty(extras, key, { value: text, enumerable: true, writable: true, configurable: true });
  }
  const present = (key: string): string | undefined => {
    const text = stringify(raw[key]);
    return text === undefined || text === "" ? undefined : text;
  };
  return ok({
    ...extras,
    access_token: accessToken,
    refresh_token: stringify(raw["refresh_token"]) ?? "",
    expires_in: String(expiresIn ?? Math.max(0, expiresOn - nowSeconds)),
    expires_on: String(expiresOn),
    not_before: present("not_before") ?? String(nowSeconds),
    resource: present("resource") ?? context.resource,
    token_type: present("token_type") ?? "Bearer",
    client_id: present("client_id") ?? context.clientId,
  });
}
