/**
 * Runs at most `limit` async tasks at once, starting queued tasks in arrival order. MIC's original
 * bounded its AzureAssignedIdentity writes the same way (20 concurrent creates/updates/deletes), so
 * one cycle with thousands of writes cannot open thousands of sockets at once.
 */
export class ConcurrencyLimiter {
  readonly limit: number;
  #running = 0;
  readonly #queue: (() => void)[] = [];

  /** Throws `RangeError` unless `limit` is an integer >= 1 (a caller bug). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be an integer >= 1, got ${limit}`);
    this.limit = limit;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs `task` once a slot is free; the slot is released however the task ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#queue.shift();
      // The slot passes straight to the next task, so `running` never dips and lets a newcomer jump the queue.
      if (next === undefined) this.#running--;
      else next();
    }
  }
}
