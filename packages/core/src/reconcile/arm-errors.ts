import type { ComputeError } from "../ports/compute.port.js";

/** What an adapter knows about a failed ARM call, independent of the SDK that made it. */
export interface ArmFailure {
  /** HTTP status; 0 when no response arrived (network error, timeout). */
  readonly statusCode: number;
  /** ARM `error.code`, e.g. `LinkedAuthorizationFailed`. */
  readonly code?: string;
  readonly message: string;
  /** The raw `Retry-After` header, if any. */
  readonly retryAfter?: string;
}

/** Used when ARM throttles without saying for how long (ARM's documented default window). */
export const DEFAULT_THROTTLE_RETRY_AFTER_MS = 60_000;

const IDENTITY_ID_PATTERN =
  /\/subscriptions\/[^/\s'",;]+\/resourcegroups\/[^/\s'",;]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/\s'",;]+/gi;

/**
 * Every user-assigned identity id mentioned in an ARM error message, as canonical lower-case keys in
 * order of appearance. ARM names the offending ids in `LinkedAuthorizationFailed` ("…on the linked
 * scope(s) '<id>,<id>'…") and `FailedIdentityOperation` messages; the original matched one quoted list,
 * this scans the whole text so wording changes do not hide an id.
 */
export function extractIdentityIds(message: string): string[] {
  const keys = (message.match(IDENTITY_ID_PATTERN) ?? []).map((id) => id.toLowerCase());
  return [...new Set(keys)];
}

/**
 * Parses a `Retry-After` value (delta seconds or an HTTP date) into milliseconds from `nowMs`;
 * `undefined` when absent or unparseable. Mirrors the original's `getRetryAfter`.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Classifies an ARM failure into a {@link ComputeError} so callers act on kinds, not text: per-identity
 * failures carry the ids to quarantine, throttling carries how long to wait.
 */
export function classifyArmError(failure: ArmFailure, nowMs: number): ComputeError {
  const { statusCode, message } = failure;
  const code = (failure.code ?? "").toLowerCase();
  const ids = extractIdentityIds(message);
  if (statusCode === 429 || code.includes("throttl") || code === "toomanyrequests") {
    const retryAfterMs = parseRetryAfter(failure.retryAfter, nowMs) ?? DEFAULT_THROTTLE_RETRY_AFTER_MS;
    const scope = code.includes("subscription") ? "subscription" : "target";
    return { kind: "throttled", retryAfterMs, scope, message };
  }
  if (/exceed limit '?150'?/i.test(message)) return { kind: "tooManyIdentities", message };
  if (code === "linkedauthorizationfailed" && ids.length > 0) {
    return { kind: "forbiddenIdentities", identityKeys: ids, message };
  }
  if ((code === "failedidentityoperation" || code === "invalidparameter" || statusCode === 400) && ids.length > 0) {
    return { kind: "invalidIdentities", identityKeys: ids, message };
  }
  if (statusCode === 409) return { kind: "conflict", message };
  if (statusCode === 412) return { kind: "preconditionFailed", message };
  if (statusCode === 404) return { kind: "notFound", message };
  if (statusCode === 401 || statusCode === 403) return { kind: "forbidden", message };
  return { kind: "transient", message };
}
