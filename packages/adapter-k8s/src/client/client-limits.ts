import type { ClockPort } from "@podid/core";
import { ConcurrencyLimiter } from "./concurrency-limiter.js";
import { TokenBucketRateLimiter } from "./token-bucket.js";

/** MIC's `--clientQps` default in the original (client-go QPS = burst = 5). */
export const DEFAULT_CLIENT_QPS = 5;
/** The original ran at most 20 AzureAssignedIdentity creates/updates/deletes at once. */
export const DEFAULT_MAX_CONCURRENT_WRITES = 20;
/** Deadline of one API request: for the answer, then for each gap in its body (for a watch: until the server answers; the informer watchdog covers the stream). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The limits a Kubernetes client applies to its own requests (the lean client and the typed one alike). */
export interface KubeClientLimitOptions {
  /** Sustained requests per second (default {@link DEFAULT_CLIENT_QPS}); `Infinity` disables limiting. */
  readonly qps?: number;
  /** Burst size (default: `qps` rounded up, at least 1 — QPS = burst as in the original). */
  readonly burst?: number;
  /** Writes (AzureAssignedIdentity, Events) running at once (default {@link DEFAULT_MAX_CONCURRENT_WRITES}). */
  readonly maxConcurrentWrites?: number;
  /** Per-request deadline (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  readonly requestTimeoutMs?: number;
}

/** The limiters and deadline built from {@link KubeClientLimitOptions}. */
export interface KubeClientLimits {
  readonly rateLimiter: TokenBucketRateLimiter;
  readonly writeLimiter: ConcurrencyLimiter;
  readonly requestTimeoutMs: number;
}

/** Builds a client's limits with the defaults above; throws when a limit is nonsensical. */
export function kubeClientLimits(options: KubeClientLimitOptions, clock: ClockPort): KubeClientLimits {
  const qps = options.qps ?? DEFAULT_CLIENT_QPS;
  const burst = options.burst ?? (Number.isFinite(qps) ? Math.max(1, Math.ceil(qps)) : 1);
  return {
    rateLimiter: new TokenBucketRateLimiter({ qps, burst, clock }),
    writeLimiter: new ConcurrencyLimiter(options.maxConcurrentWrites ?? DEFAULT_MAX_CONCURRENT_WRITES),
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}
