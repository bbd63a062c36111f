import type { ClockPort } from "@podid/core";

/** Settings of a {@link TokenBucketRateLimiter}. */
export interface TokenBucketOptions {
  /** Sustained requests per second; `Infinity` disables limiting. Must be positive. */
  readonly qps: number;
  /** Requests that may go at once after a quiet period (bucket size); at least 1. */
  readonly burst: number;
  readonly clock: ClockPort;
}

/**
 * Client-side request throttling with client-go's semantics (`flowcontrol.NewTokenBucketRateLimiter`,
 * the limiter behind MIC's `--clientQps`, QPS = burst = 5 in the original): the bucket holds up to
 * `burst` tokens and refills at `qps` per second; every request takes one. When the bucket is empty a
 * request reserves the next token and waits for it, so waiting requests are served in arrival order and
 * the rate never exceeds `burst` in any instant plus `qps` per second sustained.
 */
export class TokenBucketRateLimiter {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: ClockPort;
  /** Tokens available at `#lastMs`; negative while requests are queued (each owns one future token). */
  #tokens: number;
  #lastMs: number;
  #waiting = 0;

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

  /** Requests currently waiting for a token. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Reserves one token and returns how long the caller must wait before using it (0 = now). The
   * reservation cannot be returned, which keeps the arithmetic and the FIFO order simple.
   */
  reserve(): number {
    if (this.qps === Number.POSITIVE_INFINITY) return 0;
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#lastMs);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.qps) / 1000);
    this.#lastMs = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.qps);
  }

  /** Takes a token now if one is available, without waiting. */
  tryAcquire(): boolean {
    if (this.qps === Number.POSITIVE_INFINITY) return true;
    const now = this.#clock.now();
    const available = Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#lastMs) * this.qps) / 1000);
    if (available < 1) return false;
    this.#tokens = available - 1;
    this.#lastMs = now;
    return true;
  }

  /** Resolves when the caller may send its request. */
  async acquire(): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs <= 0) return;
    this.#waiting++;
    try {
      await this.#clock.sleep(waitMs);
    } finally {
      this.#waiting--;
    }
  }
}
