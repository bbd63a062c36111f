import {
  admitUpstream,
  cancelQueued,
  createUpstreamBudget,
  releaseUpstream,
  startQueued,
  upstreamThrottled,
  type ClockPort,
  type TimerHandle,
  type UpstreamBudgetConfig,
  type UpstreamBudgetState,
} from "@podid/core";

/**
 * The async driver of core's upstream budget: every call to the token source goes through {@link run},
 * so NMI itself never exceeds IMDS's managed-identity limits (20 requests/s, 5 concurrent per VM) no
 * matter how many pods ask at once. Callers over the limit queue in FIFO order; when the queue is full
 * they are refused with a `Retry-After`.
 * @packageDocumentation
 */

/** The result of {@link UpstreamGate.run}. */
export type GateResult<T> =
  | { readonly kind: "ran"; readonly value: T }
  /** Not run: the queue was full (or the gate closed); answer 429 with this delay. */
  | { readonly kind: "rejected"; readonly retryAfterMs: number };

interface Waiter {
  readonly start: () => void;
  readonly refuse: (retryAfterMs: number) => void;
}

/** FIFO admission to upstream under {@link UpstreamBudgetConfig}. */
export class UpstreamGate {
  #state: UpstreamBudgetState;
  readonly #clock: ClockPort;
  readonly #queue: Waiter[] = [];
  #timer: TimerHandle | undefined;
  #timerDueMs = Number.POSITIVE_INFINITY;
  #closed = false;

  /** A gate with core's defaults overridden by `config`. */
  constructor(clock: ClockPort, config: Partial<UpstreamBudgetConfig> = {}) {
    this.#clock = clock;
    this.#state = createUpstreamBudget(config);
  }

  /** Calls in flight right now (for tests and metrics). */
  get inFlight(): number {
    return this.#state.inFlight;
  }

  /** Callers waiting for capacity. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Runs `task` once the budget admits it (immediately, or after queueing), or refuses. The slot is
   * released when `task` settles, whatever the outcome.
   */
  async run<T>(task: () => Promise<T>): Promise<GateResult<T>> {
    if (this.#closed) return { kind: "rejected", retryAfterMs: this.#state.config.minRetryAfterMs };
    const step = admitUpstream(this.#state, this.#clock.now());
    this.#state = step.state;
    const decision = step.decision;
    if (decision.kind === "rejectWithRetryAfter") return { kind: "rejected", retryAfterMs: decision.retryAfterMs };
    if (decision.kind === "queue") {
      const admitted = await new Promise<number | undefined>((resolve) => {
        this.#queue.push({ start: () => resolve(undefined), refuse: (ms) => resolve(ms) });
        if (decision.retryAtMs !== undefined) this.#wakeAt(decision.retryAtMs);
      });
      if (admitted !== undefined) return { kind: "rejected", retryAfterMs: admitted };
    }
    try {
      return { kind: "ran", value: await task() };
    } finally {
      this.#state = releaseUpstream(this.#state);
      this.#pump();
    }
  }

  /** Upstream answered 429: start nothing for `retryAfterMs`. */
  throttled(retryAfterMs: number): void {
    this.#state = upstreamThrottled(this.#state, retryAfterMs, this.#clock.now());
  }

  /** Refuses every queued caller and every later one (shutdown). */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const waiter of this.#queue.splice(0)) {
      this.#state = cancelQueued(this.#state);
      waiter.refuse(this.#state.config.minRetryAfterMs);
    }
  }

  /** Starts queued callers while capacity allows; otherwise arms a timer for the next opening. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const step = startQueued(this.#state, this.#clock.now());
      this.#state = step.state;
      if (step.decision.kind === "start") {
        this.#queue.shift()?.start();
        continue;
      }
      if (step.decision.kind === "wait" && step.decision.retryAtMs !== undefined) this.#wakeAt(step.decision.retryAtMs);
      return;
    }
  }

  #wakeAt(atMs: number): void {
    if (this.#closed || (this.#timer !== undefined && this.#timerDueMs <= atMs)) return;
    this.#timer?.cancel();
    this.#timerDueMs = atMs;
    this.#timer = this.#clock.setTimer(Math.max(0, atMs - this.#clock.now()), () => {
      this.#timer = undefined;
      this.#timerDueMs = Number.POSITIVE_INFINITY;
      this.#pump();
    });
  }
}
