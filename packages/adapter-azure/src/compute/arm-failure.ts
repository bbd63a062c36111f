import { isRestError } from "@azure/core-rest-pipeline";
import type { ArmFailure } from "@podid/core";
import { CAPTURED_RETRY_AFTER_HEADER } from "./retry-after-policy.js";

/** What core-lro says when an operation ends `Failed`: "The long-running operation has failed. <code>. <message>". */
const LRO_FAILURE = /^The long-running operation has failed(?:\. ([^.\s]+)\. ([\s\S]*))?$/;

function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get !== "function") return undefined;
  const value: unknown = get.call(headers, name);
  return typeof value === "string" ? value : undefined;
}

/**
 * Reduces anything an Azure SDK call threw to core's {@link ArmFailure}, so that core's
 * `classifyArmError` decides what it means (one rule, one place):
 *
 * - a `RestError` gives its status, ARM `error.code` and message, and the `Retry-After` hint (captured by
 *   `retryAfterCapturePolicy`, or the raw header when that policy is absent);
 * - a long-running operation that ended `Failed` (core-lro throws a plain `Error` whose text carries the
 *   ARM code and message of the operation's error) gives status 0 with that code, so per-identity
 *   failures reported asynchronously still name their identities;
 * - anything else (network errors, timeouts, aborted waits, credential failures) gives status 0, which core
 *   classifies as transient.
 */
export function armFailureOf(error: unknown): ArmFailure {
  if (isRestError(error)) {
    const headers = error.response?.headers;
    const retryAfter = header(headers, CAPTURED_RETRY_AFTER_HEADER) ?? header(headers, "retry-after");
    return {
      statusCode: error.statusCode ?? 0,
      ...(error.code !== undefined ? { code: error.code } : {}),
      message: error.message,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    };
  }
  if (error instanceof Error) {
    const lro = LRO_FAILURE.exec(error.message);
    if (lro !== null) {
      return { statusCode: 0, ...(lro[1] !== undefined ? { code: lro[1] } : {}), message: lro[2] ?? error.message };
    }
    return { statusCode: 0, message: `${error.name}: ${error.message}` };
  }
  return { statusCode: 0, message: String(error) };
}
