import type { PipelinePolicy } from "@azure/core-rest-pipeline";

/**
 * Where {@link retryAfterCapturePolicy} keeps the server's throttling hint, as `Retry-After` would carry
 * it (delta seconds or an HTTP date).
 */
export const CAPTURED_RETRY_AFTER_HEADER = "x-podid-retry-after";

/** Name of {@link retryAfterCapturePolicy} in the pipeline. */
export const RETRY_AFTER_CAPTURE_POLICY_NAME = "podidRetryAfterCapture";

/**
 * A per-retry pipeline policy that takes 429 (and 503) throttling out of the SDK's hands. The SDK's
 * default retry policy sleeps for whatever `Retry-After` says — unbounded, inside one call — before it
 * retries a 429 or 503. The original removed 429 from autorest's retry list (PR #742) and gated further
 * calls itself; podid does the same: this policy, sitting below the retry policy, moves `Retry-After`,
 * `retry-after-ms` and `x-ms-retry-after-ms` of 429/503 responses to {@link CAPTURED_RETRY_AFTER_HEADER}.
 * The SDK then returns a 429 at once (it retries 429 only when a Retry-After header is present) and retries
 * a 503 with its own bounded exponential backoff, and the adapter reads the hint from the captured header
 * to close its throttle gate.
 */
export function retryAfterCapturePolicy(): PipelinePolicy {
  return {
    name: RETRY_AFTER_CAPTURE_POLICY_NAME,
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429 && response.status !== 503) return response;
      const seconds = response.headers.get("retry-after");
      const ms = response.headers.get("retry-after-ms") ?? response.headers.get("x-ms-retry-after-ms");
      const captured = seconds ?? (ms !== undefined && /^\d+$/.test(ms.trim()) ? String(Math.ceil(Number(ms) / 1000)) : undefined);
      if (captured !== undefined) response.headers.set(CAPTURED_RETRY_AFTER_HEADER, captured);
      response.headers.delete("retry-after");
      response.headers.delete("retry-after-ms");
      response.headers.delete("x-ms-retry-after-ms");
      return response;
    },
  };
}
