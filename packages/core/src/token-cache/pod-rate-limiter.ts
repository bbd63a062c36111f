/**
 * Per-pod fairness in front of the token cache (docs/compatibility.md#token-cache-and-upstream-limits): each
 * pod gets its own token bucket, so one misbehaving or crash-looping pod cannot use up the node's shared IMDS
 * budget or NMI's time.
 */
export interface PodRateLimiterConfig {
  /** Sustained requests per second per pod. */
  readonly ratePerSecond: number;
  /** Bucket capacity: the burst a pod may send after being idle. */
  readonly burst: number;
}

/**
 * 5 requests/s sustained with bursts of 20: SDKs cache tokens, so a healthy pod asks rarely, while a
 * pod starting several containers that each want a few resources still fits in the burst.
 */
export const DEFAULT_POD_RATE_LIMITER_CONFIG: PodRateLimiterConfig = { ratePerSecond: 5, burst: 20 };

/** One pod's bucket; `tokens` is fractional. */
export interface PodBucket {
  readonly tokens: number;
  readonly updatedAtMs: number;
}

/** All buckets as an immutable value. A missing bucket means "full". */
export interface PodRateLimiterState {
  readonly config: PodRateLimiterConfig;
  readonly buckets: ReadonlyMap<string, PodBucket>;
}

/** The answer for one request. */
export type PodRateDecision = { readonly kind: "allow" } | { readonly kind: "deny"; readonly retryAfterMs: number };

/** A fresh limiter; `config` overrides any of {@link DEFAULT_POD_RATE_LIMITER_CONFIG}. */
export function createPodRateLimiter(config: Partial<PodRateLimiterConfig> = {}): PodRateLimiterState {
  return { config: { ...DEFAULT_POD_RATE_LIMITER_CONFIG, ...config }, buckets: new Map() };
}

/**
 * Takes one token from `podKey`'s bucket (the NMI uses the pod UID). When empty, the answer says how
 * long until a token is back, which NMI returns as `Retry-After` with a 429. Time that appears to run
 * backwards adds nothing to the bucket. Buckets are independent: this is {@link takePodToken} on the one
 * bucket of `podKey`.
 */
export function allowPodRequest(
  state: PodRateLimiterState,
  podKey: string,
  nowMs: number,
): { readonly state: PodRateLimiterState; readonly decision: PodRateDecision } {
  const step = takePodToken(state.config, state.buckets.get(podKey), nowMs);
  const buckets = new Map(state.buckets);
  buckets.set(podKey, step.bucket);
  return { state: { ...state, buckets }, decision: step.decision };
}

const ALLOW: PodRateDecision = { kind: "allow" };

/**
 * The limiter's rule for one pod's bucket (`undefined`: full): the bucket after one request at `nowMs` and
 * the answer. For a caller keeping each pod's bucket itself, so a request touches that bucket alone.
 */
export function takePodToken(
  config: PodRateLimiterConfig,
  bucket: PodBucket | undefined,
  nowMs: number,
): { readonly bucket: PodBucket; readonly decision: PodRateDecision } {
  const { tokens, atMs } = refilledBucket(config, bucket, nowMs);
  if (tokens >= 1 - EPSILON) return { bucket: { tokens: Math.max(0, tokens - 1), updatedAtMs: atMs }, decision: ALLOW };
  const retryAfterMs = atMs - nowMs + Math.max(1, Math.ceil(((1 - tokens) * 1000) / config.ratePerSecond));
  return { bucket: { tokens, updatedAtMs: atMs }, decision: { kind: "deny", retryAfterMs } };
}

/** True when `bucket` has refilled completely by `nowMs`: it then behaves exactly like an absent one (see {@link prunePodBuckets}). */
export function isPodBucketFull(config: PodRateLimiterConfig, bucket: PodBucket | undefined, nowMs: number): boolean {
  return refilledBucket(config, bucket, nowMs).tokens >= config.burst;
}

/** Drops buckets that have refilled completely: they behave exactly like absent ones, so this bounds memory to active pods. */
export function prunePodBuckets(state: PodRateLimiterState, nowMs: number): PodRateLimiterState {
  const buckets = new Map([...state.buckets].filter(([podKey]) => refilled(state, podKey, nowMs).tokens < state.config.burst));
  return { ...state, buckets };
}

/** Forgets a deleted pod's bucket. */
export function forgetPod(state: PodRateLimiterState, podKey: string): PodRateLimiterState {
  if (!state.buckets.has(podKey)) return state;
  const buckets = new Map(state.buckets);
  buckets.delete(podKey);
  return { ...state, buckets };
}

/** Absorbs floating-point rounding so that a retry at exactly `retryAfterMs` is allowed. */
const EPSILON = 1e-9;

/** The bucket's tokens at `nowMs` and the instant they are valid for (never earlier than its last update). */
function refilled(state: PodRateLimiterState, podKey: string, nowMs: number): { tokens: number; atMs: number } {
  return refilledBucket(state.config, state.buckets.get(podKey), nowMs);
}

/** {@link refilled} for one bucket (`undefined`: full). */
function refilledBucket(config: PodRateLimiterConfig, bucket: PodBucket | undefined, nowMs: number): { tokens: number; atMs: number } {
  if (bucket === undefined) return { tokens: config.burst, atMs: nowMs };
  const atMs = Math.max(nowMs, bucket.updatedAtMs);
  const tokens = Math.min(config.burst, bucket.tokens + ((atMs - bucket.updatedAtMs) * config.ratePerSecond) / 1000);
  return { tokens, atMs };
}
