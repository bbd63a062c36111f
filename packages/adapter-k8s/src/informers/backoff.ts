/** Settings of {@link jitteredBackoffMs}. */
export interface BackoffOptions {
  /** Delay before the first retry (before jitter). */
  readonly initialMs: number;
  /** Upper bound of the un-jittered delay. */
  readonly maxMs: number;
  /** Extra random delay as a fraction of the base, in [0, 1]: the result lies in [base, base × (1 + jitter)]. */
  readonly jitter: number;
}

/**
 * Informer restart backoff: 500 ms doubling to 30 s with up to 50 % jitter. The cap matches client-node's
 * own reconnect cap; jitter spreads the restarts of many NMIs after an API server outage so they do
 * not all relist at the same instant.
 */
export const DEFAULT_INFORMER_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, jitter: 0.5 };

/**
 * The delay before retry number `attempt` (1 = first retry): `min(maxMs, initialMs × 2^(attempt−1))`
 * stretched by `random() × jitter`. `random` must return values in [0, 1) (`Math.random` by default).
 */
export function jitteredBackoffMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const base = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(base * (1 + options.jitter * r));
}
