import type { ClockPort, TimerHandle } from "@podid/core";

/**
 * What a request is for, which decides who gets the next token: `work` (every request MIC needs to do its
 * job: AzureAssignedIdentity creates, updates, deletes and status writes, list and watch) always goes
 * before `event` (Kubernetes Events, which are informational and may be dropped).
 */
export type RequestClass = "work" | "event";

/** Settings of a {@link TokenBucketRateLimiter}. */
export interface TokenBucketOptions {
  /** Sustained requests per second; `Infinity` disables limiting. Must be positive. */
  readonly qps: number;
  /** Requests that may go at once after a quiet period (bucket size); at least 1. */
  readonly burst: number;
  readonly clock: ClockPort;
}

/** Refill arithmetic in floating point can leave a count of tokens a hair short of a whole number. */
const ROUNDING = 1e-9;
const WHOLE_TOKEN = 1 - ROUNDING;

/**
 * Client-side request throttling with client-go's bucket (`flowcontrol.NewTokenBucketRateLimiter`, the
 * limiter behind MIC's `--clientQps`, QPS = burst = 5 in the original): the bucket holds up to `burst`
 * tokens and refills at `qps` per second; every request takes one, so the rate never exceeds `burst` in
 * any instant plus `qps` per second sustained. Unlike client-go's single FIFO, waiting requests form two
 * queues: a token that comes due goes to the oldest waiting `work` request; an `event` request gets one
 * only when no `work` request waits and the bucket is full, i.e. a token that would otherwise overflow.
 * So Events never delay the writes that assign identities, not even by emptying the bucket in a short
 * pause that the next burst of work would have used (docs/adr/0018-mic-memory-and-event-budget.md,
 * addendum on Event priority). Within a class the order is first come, first served.
 */
export class TokenBucketRateLimiter {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: ClockPort;
  /** Tokens available at `#lastMs` (never negative: a waiting request holds no token until it is handed one). */
  #tokens: number;
  #lastMs: number;
  readonly #queues: Readonly<Record<RequestClass, (() => void)[]>> = { work: [], event: [] };
  /** The timer that hands out the next token while requests wait (one at a time), and when it fires. */
  #timer: { readonly handle: TimerHandle; readonly dueMs: number } | undefined;

  /** Creates a full bucket. Throws `RangeError` for a non-positive `qps` or a `burst` below 1 (a caller bug). */
  constructor(options: TokenBucketOptions) {
    if (!(options.qps > 0)) throw new RangeError(`qps must be positive, got ${options.qps}`);
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) throw new RangeError(`burst must be a finite number >= 1, got ${options.burst}`);
    this.qps = options.qps;
    this.burst = Math.floor(options.burst);
    this.#clock = options.clock;
    this.#tokens = this.burst;
    this.#lastMs = options.clock.now();
  }

  /** Requests currently waiting for a token (both classes). */
  get waiting(): number {
    return this.#queues.work.length + this.#queues.event.length;
  }

  /** Requests of `requestClass` currently waiting for a token. */
  waitingOf(requestClass: RequestClass): number {
    return this.#queues[requestClass].length;
  }

  /**
   * Takes a `work` token now if one is available and no `work` request waits for one; never waits.
   */
  tryAcquire(): boolean {
    if (this.qps === Number.POSITIVE_INFINITY) return true;
    this.#refill();
    if (this.#queues.work.length > 0 || this.#tokens < WHOLE_TOKEN) return false;
    this.#take();
    return true;
  }

  /**
   * Resolves when the caller may send its request. A `work` request goes at once when a token is there
   * and no earlier `work` request waits; an `event` request when nothing waits and the bucket is full.
   */
  acquire(requestClass: RequestClass = "work"): Promise<void> {
    if (this.qps === Number.POSITIVE_INFINITY) return Promise.resolve();
    this.#refill();
    const goesNow = requestClass === "work" ? this.#queues.work.length === 0 && this.#tokens >= WHOLE_TOKEN : this.waiting === 0 && this.#full();
    if (goesNow) {
      this.#take();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#queues[requestClass].push(resolve);
      this.#schedule();
    });
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#lastMs) * this.qps) / 1000);
    this.#lastMs = now;
  }

  /** True when the bucket holds `burst` tokens: the next refill would overflow, so an Event may have one. */
  #full(): boolean {
    return this.#tokens >= this.burst - ROUNDING;
  }

  #take(): void {
    this.#tokens = Math.max(0, this.#tokens - 1);
  }

  /**
   * Arms the timer for the moment the next request can go: the next whole token while `work` waits, else
   * the moment the bucket is full again. A timer armed for a later moment (Events only) is re-armed sooner
   * when work starts waiting.
   */
  #schedule(): void {
    const missing = Math.max(0, (this.#queues.work.length > 0 ? 1 : this.burst) - this.#tokens);
    const delayMs = Math.ceil((missing * 1000) / this.qps);
    const dueMs = this.#clock.now() + delayMs;
    if (this.#timer !== undefined) {
      if (this.#timer.dueMs <= dueMs) return;
      this.#timer.handle.cancel();
    }
    const handle = this.#clock.setTimer(delayMs, () => {
      this.#timer = undefined;
      this.#handOut();
    });
    this.#timer = { handle, dueMs };
  }

  /** Gives whole tokens to waiting `work`, then a full bucket's overflow to an `event`; re-arms while any wait. */
  #handOut(): void {
    this.#refill();
    for (;;) {
      const work = this.#tokens >= WHOLE_TOKEN ? this.#queues.work.shift() : undefined;
      const next = work ?? (this.#queues.work.length === 0 && this.#full() ? this.#queues.event.shift() : undefined);
      if (next === undefined) break;
      this.#take();
      next();
    }
    if (this.waiting > 0) this.#schedule();
  }
}
