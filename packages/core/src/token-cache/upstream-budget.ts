/**
 * Limits on calls to the node's IMDS (or AAD). IMDS allows the Managed Identity category 20 requests/s and 5
 * concurrent requests per VM and answers 429 above that
 * (docs/compatibility.md#token-cache-and-upstream-limits); every pod on the node shares that one VM, so NMI
 * must stay under it itself — with a margin, because IMDS counts arrivals on its own clock while NMI counts
 * starts on its own, and host-network processes of the node call IMDS past NMI.
 */
export interface UpstreamBudgetConfig {
  /** Most fetch starts in any window of `windowMs`. */
  readonly maxStartsPerWindow: number;
  readonly windowMs: number;
  /** Most fetches in flight at once. */
  readonly maxConcurrent: number;
  /** Most callers waiting for capacity; beyond it callers are told to come back later. */
  readonly maxQueued: number;
  /** Smallest `Retry-After` handed out, so callers do not spin. */
  readonly minRetryAfterMs: number;
}

/**
 * 15 starts per second and 4 in flight — a quarter of IMDS's per-VM rate (20/s) and one of its 5 slots kept
 * free (docs/compatibility.md#token-cache-and-upstream-limits): connection set-up and scheduling jitter
 * move arrivals at IMDS closer together than NMI started them, a call NMI abandoned may still be running at
 * IMDS, and host-network agents share the VM's budget. A queue of 64 and a 1 s minimum Retry-After.
 */
export const DEFAULT_UPSTREAM_BUDGET_CONFIG: UpstreamBudgetConfig = {
  maxStartsPerWindow: 15,
  windowMs: 1000,
  maxConcurrent: 4,
  maxQueued: 64,
  minRetryAfterMs: 1000,
};

/**
 * The budget as an immutable value.
 *
 * It is a sliding-window log rather than a refilling token bucket on purpose: a full bucket of
 * capacity C refilled at R/s admits C + R calls within one second, which would overshoot IMDS's
 * 20 req/s and earn 429s. Keeping the start times of the last window (at most `maxStartsPerWindow`
 * numbers) admits the same bursts yet never more than the limit in ANY window.
 */
export interface UpstreamBudgetState {
  readonly config: UpstreamBudgetConfig;
  /** Start times within the current window, ascending. */
  readonly recentStarts: readonly number[];
  readonly inFlight: number;
  /** Callers the driver holds in FIFO order, waiting for {@link startQueued}. */
  readonly queued: number;
  /** After an upstream 429, no start before this instant. */
  readonly pausedUntilMs: number;
}

/** What to do with one new upstream call. */
export type BudgetDecision =
  /** Call upstream now (counted as started and in flight). */
  | { readonly kind: "start" }
  /**
   * Hold the caller; call {@link startQueued} when a call finishes or at `retryAtMs` (when rate or a
   * pause, not concurrency, is what blocks).
   */
  | { readonly kind: "queue"; readonly retryAtMs?: number }
  /** The queue is full: refuse (NMI answers 429 with this Retry-After). */
  | { readonly kind: "rejectWithRetryAfter"; readonly retryAfterMs: number };

/** A step of the budget. */
export interface BudgetStep<D> {
  readonly state: UpstreamBudgetState;
  readonly decision: D;
}

/** A fresh budget; `config` overrides any of {@link DEFAULT_UPSTREAM_BUDGET_CONFIG}. */
export function createUpstreamBudget(config: Partial<UpstreamBudgetConfig> = {}): UpstreamBudgetState {
  return { config: { ...DEFAULT_UPSTREAM_BUDGET_CONFIG, ...config }, recentStarts: [], inFlight: 0, queued: 0, pausedUntilMs: 0 };
}

/**
 * Admits a new upstream call. Callers already queued go first (FIFO), so a new call only starts
 * directly when nobody waits and concurrency, rate and any 429 pause all allow it.
 */
export function admitUpstream(state: UpstreamBudgetState, nowMs: number): BudgetStep<BudgetDecision> {
  const s = prune(state, nowMs);
  if (s.queued === 0 && canStart(s, nowMs)) return { state: started(s, nowMs), decision: { kind: "start" } };
  const retryAtMs = nextRateOrPauseOpening(s, nowMs);
  if (s.queued < s.config.maxQueued) {
    return { state: { ...s, queued: s.queued + 1 }, decision: retryAtMs === undefined ? { kind: "queue" } : { kind: "queue", retryAtMs } };
  }
  const waitMs = retryAtMs === undefined ? 0 : retryAtMs - nowMs;
  return { state: s, decision: { kind: "rejectWithRetryAfter", retryAfterMs: Math.max(s.config.minRetryAfterMs, waitMs) } };
}

/** Whether the head of the queue may start now; if so it is counted as started. */
export type QueuedDecision =
  | { readonly kind: "start" }
  | { readonly kind: "wait"; readonly retryAtMs?: number }
  | { readonly kind: "empty" };

/** Starts the longest-waiting queued caller when capacity allows. */
export function startQueued(state: UpstreamBudgetState, nowMs: number): BudgetStep<QueuedDecision> {
  const s = prune(state, nowMs);
  if (s.queued === 0) return { state: s, decision: { kind: "empty" } };
  if (canStart(s, nowMs)) return { state: { ...started(s, nowMs), queued: s.queued - 1 }, decision: { kind: "start" } };
  const retryAtMs = nextRateOrPauseOpening(s, nowMs);
  return { state: s, decision: retryAtMs === undefined ? { kind: "wait" } : { kind: "wait", retryAtMs } };
}

/** A queued caller gave up (its request was cancelled). */
export function cancelQueued(state: UpstreamBudgetState): UpstreamBudgetState {
  return { ...state, queued: Math.max(0, state.queued - 1) };
}

/** A started call finished (whatever its result); frees its concurrency slot. */
export function releaseUpstream(state: UpstreamBudgetState): UpstreamBudgetState {
  return { ...state, inFlight: Math.max(0, state.inFlight - 1) };
}

/** Upstream answered 429: start nothing new for `retryAfterMs` (it never shortens a pause). */
export function upstreamThrottled(state: UpstreamBudgetState, retryAfterMs: number, nowMs: number): UpstreamBudgetState {
  return { ...state, pausedUntilMs: Math.max(state.pausedUntilMs, nowMs + Math.max(0, retryAfterMs)) };
}

function canStart(s: UpstreamBudgetState, nowMs: number): boolean {
  return s.inFlight < s.config.maxConcurrent && s.recentStarts.length < s.config.maxStartsPerWindow && nowMs >= s.pausedUntilMs;
}

function started(s: UpstreamBudgetState, nowMs: number): UpstreamBudgetState {
  return { ...s, recentStarts: [...s.recentStarts, nowMs], inFlight: s.inFlight + 1 };
}

/**
 * Keeps only starts inside the CLOSED window `[now - windowMs, now]`: a start at `t` counts until
 * `t + windowMs` inclusive, so the next start it makes room for comes at `t + windowMs + 1` at the earliest.
 * With a half-open window a start exactly `windowMs` after another would be admitted, and a closed span of
 * `windowMs` (the way a throttle on the other side may count) would hold one start too many.
 */
function prune(s: UpstreamBudgetState, nowMs: number): UpstreamBudgetState {
  const from = nowMs - s.config.windowMs;
  const first = s.recentStarts.findIndex((t) => t >= from);
  if (first === 0) return s;
  return { ...s, recentStarts: first === -1 ? [] : s.recentStarts.slice(first) };
}

/**
 * When rate and pause next allow a start, or `undefined` when only concurrency blocks (then the
 * opening comes with a release, whose time nobody knows).
 */
function nextRateOrPauseOpening(s: UpstreamBudgetState, nowMs: number): number | undefined {
  let at = nowMs;
  if (s.recentStarts.length >= s.config.maxStartsPerWindow) {
    // The start that must leave the window for the count to drop below the limit.
    const leaving = s.recentStarts[s.recentStarts.length - s.config.maxStartsPerWindow];
    if (leaving !== undefined) at = Math.max(at, leaving + s.config.windowMs + 1);
  }
  at = Math.max(at, s.pausedUntilMs);
  return at > nowMs ? at : undefined;
}
