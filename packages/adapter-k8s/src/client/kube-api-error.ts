import { parseRetryAfter, type KubeError } from "@podid/core";

/** The parts of a Kubernetes `Status` error body podid reads. */
export interface KubeStatusBody {
  readonly reason?: string;
  readonly message?: string;
  readonly code?: number;
  readonly retryAfterSeconds?: number;
}

/** Default wait for a 429 that names no `Retry-After` (client-go waits 1 s in that case). */
export const DEFAULT_THROTTLE_RETRY_MS = 1000;

/**
 * Reads a `Status` body: podid's requests hand over the raw JSON **string**, as client-node 2.x does in
 * `ApiException.body` for codes its generated API does not declare (409, 410, 422, 429, 5xx…;
 * docs/compatibility.md#kubernetes-client-behaviour); an object is accepted too, anything else yields `{}`.
 */
export function parseStatusBody(body: unknown): KubeStatusBody {
  let value: unknown = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() === "" ? {} : { message: body.trim().slice(0, 500) };
    }
  }
  if (typeof value !== "object" || value === null) return {};
  const record = value as Record<string, unknown>;
  const details = typeof record["details"] === "object" && record["details"] !== null ? (record["details"] as Record<string, unknown>) : {};
  const retry = details["retryAfterSeconds"];
  return {
    ...(typeof record["reason"] === "string" ? { reason: record["reason"] } : {}),
    ...(typeof record["message"] === "string" ? { message: record["message"] } : {}),
    ...(typeof record["code"] === "number" ? { code: record["code"] } : {}),
    ...(typeof retry === "number" && Number.isFinite(retry) && retry >= 0 ? { retryAfterSeconds: retry } : {}),
  };
}

function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === name) return typeof value === "string" ? value : Array.isArray(value) ? String(value[0]) : undefined;
  }
  return undefined;
}

/**
 * Classifies an HTTP status and `Status` body into core's {@link KubeError}: 409 → `conflict`
 * (`alreadyExists` when the reason is `AlreadyExists`, i.e. a create lost, not a stale resourceVersion),
 * 404 → `notFound`, 410 → `expired`, 429 → `throttled` (wait from `Retry-After`, else
 * `details.retryAfterSeconds`, else 1 s), 401/403 → `forbidden`, other 4xx → `invalid`, 5xx and
 * anything else → `transient`.
 */
export function kubeErrorFromStatus(code: number, status: KubeStatusBody, retryAfterHeader: string | undefined, nowMs: number): KubeError {
  const message = status.message ?? `HTTP ${code}${status.reason === undefined ? "" : ` ${status.reason}`}`;
  if (code === 409) return { kind: "conflict", alreadyExists: status.reason === "AlreadyExists", message };
  if (code === 404) return { kind: "notFound", message };
  if (code === 410) return { kind: "expired", message };
  if (code === 429) {
    const fromHeader = parseRetryAfter(retryAfterHeader, nowMs);
    const fromBody = status.retryAfterSeconds === undefined ? undefined : status.retryAfterSeconds * 1000;
    return { kind: "throttled", retryAfterMs: fromHeader ?? fromBody ?? DEFAULT_THROTTLE_RETRY_MS, message };
  }
  if (code === 401 || code === 403) return { kind: "forbidden", message };
  if (code >= 400 && code < 500) return { kind: "invalid", message };
  return { kind: "transient", message };
}

/**
 * Turns anything a request threw into a {@link KubeError}: an HTTP answer by its status code and parsed
 * `Status` body — podid's own `KubeHttpError` (`statusCode`, `body`, `headers`) as well as client-node's
 * `ApiException` (`code`, `body`, `headers`, used by the CLI's typed client) — and network failures,
 * aborts and timeouts (`ECONNREFUSED`, `AbortError`, `TimeoutError`) as `transient`. Recognised by
 * shape, so this module never loads client-node.
 */
export function toKubeError(error: unknown, nowMs: number): KubeError {
  if (typeof error === "object" && error !== null) {
    const record = error as Record<string, unknown>;
    const code = typeof record["statusCode"] === "number" ? record["statusCode"] : typeof record["code"] === "number" ? record["code"] : undefined;
    if (code !== undefined && code >= 400) return kubeErrorFromStatus(code, parseStatusBody(record["body"]), header(record["headers"], "retry-after"), nowMs);
  }
  return { kind: "transient", message: describeError(error) };
}

/** A short description of a thrown value for logs and error messages (cause chain included). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const base = `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`;
    return cause === undefined ? base : `${base} (${describeError(cause)})`;
  }
  return String(error);
}
