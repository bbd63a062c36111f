import { err, ok, type ClockPort, type KubeError, type Result } from "@podid/core";
import { toKubeError } from "./kube-api-error.js";

/** How {@link callKube} treats 429 answers. */
export interface ThrottleRetryOptions {
  /** Extra attempts after a 429 (default 3). client-go retries 429s that carry Retry-After the same way. */
  readonly maxRetries?: number;
  /** A longer Retry-After is not waited out: the `throttled` error goes to the caller (default 10 s). */
  readonly maxWaitMs?: number;
}

/**
 * Runs one API call and returns its value or a {@link KubeError}, never throwing. A 429 is
 * retried after its Retry-After (bounded by `options`) because the API server's priority-and-fairness
 * asks exactly that; every other failure is returned at once for the caller to judge.
 */
export async function callKube<T>(clock: ClockPort, call: () => Promise<T>, options: ThrottleRetryOptions = {}): Promise<Result<T, KubeError>> {
  const maxRetries = options.maxRetries ?? 3;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return ok(await call());
    } catch (error) {
      const kubeError = toKubeError(error, clock.now());
      if (kubeError.kind !== "throttled" || attempt >= maxRetries || kubeError.retryAfterMs > maxWaitMs) return err(kubeError);
      await clock.sleep(kubeError.retryAfterMs);
    }
  }
}
