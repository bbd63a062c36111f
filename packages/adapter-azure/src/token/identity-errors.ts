import type { TokenSourceError } from "@podid/core";

/** Fields of the errors `@azure/identity` and MSAL throw that say what AAD answered. */
interface ErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly statusCode?: unknown;
  readonly status?: unknown;
  readonly errorCode?: unknown;
  readonly errorMessage?: unknown;
  readonly errorResponse?: { readonly error?: unknown; readonly errorDescription?: unknown };
  readonly cause?: unknown;
}

const asShape = (e: unknown): ErrorShape | undefined => (typeof e === "object" && e !== null ? (e as ErrorShape) : undefined);
const text = (v: unknown): string => (typeof v === "string" ? v : "");

function byStatus(status: number, error: string, description: string): TokenSourceError {
  if (status === 429) return { kind: "throttled", retryAfterMs: 1_000, message: `AAD throttled: ${error} ${description}`.trim() };
  if (status >= 500 || status === 408) return { kind: "unavailable", message: `AAD answered ${status}: ${error} ${description}`.trim() };
  return { kind: "rejected", status, error, description };
}

/**
 * Classifies what a credential's `getToken` threw. AAD refusing the request (bad secret or certificate,
 * unknown application or tenant) → `rejected` with AAD's `error` and description; AAD throttling → `throttled`;
 * AAD failing, the network failing, or the request being cancelled → `unavailable`.
 *
 * `@azure/identity` reports AAD's answers in two ways: `AuthenticationError` (`statusCode`, `errorResponse`),
 * or MSAL's `ServerError` (`errorCode`, `errorMessage`, `status`) wrapped as the `cause` of an
 * `AuthenticationRequiredError`; both are read here. MSAL's client-side errors (`ClientAuthError`, e.g. a
 * network failure or an unreachable authority) are `unavailable`.
 */
export function identityErrorToTokenSourceError(e: unknown): TokenSourceError {
  for (let current = asShape(e), depth = 0; current !== undefined && depth < 5; current = asShape(current.cause), depth += 1) {
    const name = text(current.name);
    if (name === "AuthenticationError" && typeof current.statusCode === "number" && current.statusCode > 0) {
      return byStatus(current.statusCode, text(current.errorResponse?.error) || "unknown", text(current.errorResponse?.errorDescription));
    }
    if (name === "ServerError" && text(current.errorCode) !== "") {
      const status = typeof current.status === "number" && current.status > 0 ? current.status : 400;
      return byStatus(status, text(current.errorCode), text(current.errorMessage));
    }
    if (name === "AbortError") return { kind: "unavailable", message: "token request cancelled" };
  }
  const shape = asShape(e);
  return { kind: "unavailable", message: `${text(shape?.name) || "Error"}: ${text(shape?.message) || String(e)}` };
}
