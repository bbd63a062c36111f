import { sleepOnTimer, type CancellationSignal, type ClockPort, type TimerHandle } from "@podid/core";

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** The initial `now()` in epoch milliseconds (default 1 700 000 000 000, a fixed date in 2023). */
  readonly startMs?: number;
}

/** A timer that has not fired yet, as reported by {@link VirtualClock.pendingTimers}. */
export interface PendingTimer {
  /** Creation sequence number; equal due times fire in ascending `id` (FIFO). */
  readonly id: number;
  /** Virtual epoch milliseconds at which the timer fires. */
  readonly dueMs: number;
}

/** Bounds of {@link VirtualClock.runUntilIdle}. */
export interface RunUntilIdleOptions {
  /** Fire at most this many timers (default 100 000). */
  readonly maxSteps?: number;
  /** Never move the clock more than this far beyond where it started (default: unbounded). */
  readonly maxTimeMs?: number;
}

/** What {@link VirtualClock.runUntilIdle} did. */
export interface RunUntilIdleResult {
  /** Timers fired. */
  readonly fired: number;
  /** True when no timer is pending any more; false when a bound stopped the run. */
  readonly idle: boolean;
  /** The clock's time when the run stopped. */
  readonly nowMs: number;
}

interface TimerEntry {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

/** Orders timers by due time, then by creation (FIFO for equal due times). */
function earlier(a: TimerEntry, b: TimerEntry): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.id < b.id);
}

/** Yields to the macrotask queue once, which first drains every pending microtask (any chain length). */
function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A manually driven {@link ClockPort}: time moves only when a test calls {@link advance},
 * {@link advanceTo}, {@link runUntilIdle} or their async variants, so reconcile loops, backoffs,
 * token lifetimes and lease expiry can be exercised in microseconds and deterministically.
 *
 * Timers are kept in a binary heap ordered by (due time, creation order), so timers due at the same
 * instant fire first-in-first-out, and timers that callbacks schedule while the clock is advancing fire
 * in the same advance when they fall due inside it. A timer callback sees `now()` equal to its own due
 * time, never the advance's end.
 *
 * **Synchronous vs asynchronous driving.** {@link advance} runs callbacks synchronously; code that
 * `await`s a {@link sleep} only continues after the current microtask queue drains, which a synchronous
 * advance never lets happen. For code written with `await clock.sleep(…)` use
 * {@link advanceAsync} (or {@link runUntilIdleAsync}): it yields to the event loop before and after
 * every timer, so each awaited continuation runs, may schedule its next sleep, and that sleep is
 * honoured within the same advance:
 *
 * ```ts
 * const clock = new VirtualClock();
 * const done = (async () => { await clock.sleep(1000); await clock.sleep(1000); return clock.now(); })();
 * await clock.advanceAsync(2000); // both sleeps resolve, in order
 * expect(await done).toBe(clock.now());
 * ```
 *
 * The yield uses Node's `setImmediate`, so do not combine this clock with vitest fake timers.
 */
export class VirtualClock implements ClockPort {
  #nowMs: number;
  #nextId = 1;
  readonly #heap: TimerEntry[] = [];
  /** Ids of timers still pending; cancelled ids are removed here and skipped lazily in the heap. */
  readonly #live = new Set<number>();

  /** Creates a clock standing at `options.startMs`. */
  constructor(options: VirtualClockOptions = {}) {
    this.#nowMs = options.startMs ?? 1_700_000_000_000;
  }

  /** The current virtual time in epoch milliseconds. */
  now(): number {
    return this.#nowMs;
  }

  /**
   * Schedules `callback` once after `delayMs` of virtual time (negative or NaN delays count as 0, like
   * `setTimeout`; an infinite delay throws `RangeError` because it could never fire). Cancelling after
   * the timer fired, or twice, does nothing.
   */
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    if (delayMs === Number.POSITIVE_INFINITY) throw new RangeError("VirtualClock.setTimer: infinite delay");
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const entry: TimerEntry = { id: this.#nextId++, dueMs: this.#nowMs + delay, callback };
    this.#live.add(entry.id);
    this.#push(entry);
    return {
      cancel: () => {
        this.#live.delete(entry.id);
      },
    };
  }

  /**
   * Resolves after `delayMs` of virtual time. Rejects with `signal.reason` when the signal is already
   * aborted or aborts first; the pending timer is cancelled then, so it does not count as pending.
   */
  sleep(delayMs: number, signal?: CancellationSignal): Promise<void> {
    return sleepOnTimer((ms, callback) => this.setTimer(ms, callback), delayMs, signal);
  }

  /** Timers not yet fired nor cancelled, in firing order. */
  pendingTimers(): readonly PendingTimer[] {
    return this.#heap
      .filter((t) => this.#live.has(t.id))
      .sort((a, b) => (earlier(a, b) ? -1 : earlier(b, a) ? 1 : 0))
      .map((t) => ({ id: t.id, dueMs: t.dueMs }));
  }

  /** The due time of the next pending timer, or `undefined` when none is pending. */
  nextDueMs(): number | undefined {
    return this.#peekLive()?.dueMs;
  }

  /**
   * Moves time forward by `ms`, synchronously firing every timer that falls due on the way (in order,
   * including timers scheduled by those callbacks). Throws `RangeError` for a negative or non-finite
   * `ms`. Returns the number of timers fired.
   */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`VirtualClock.advance: invalid duration ${ms}`);
    return this.advanceTo(this.#nowMs + ms);
  }

  /**
   * Moves time forward to the absolute epoch time `targetMs`, firing due timers like {@link advance}.
   * Time never runs backwards: a target before `now()` throws `RangeError`.
   */
  advanceTo(targetMs: number): number {
    if (!Number.isFinite(targetMs) || targetMs < this.#nowMs) {
      throw new RangeError(`VirtualClock.advanceTo: ${targetMs} is before now (${this.#nowMs}) or not finite`);
    }
    let fired = 0;
    for (;;) {
      const next = this.#peekLive();
      if (next === undefined || next.dueMs > targetMs) break;
      this.#fire(next);
      fired++;
    }
    this.#nowMs = targetMs;
    return fired;
  }

  /**
   * Fires pending timers one after another, jumping time to each due time, until none is left or a
   * bound is hit: `maxSteps` timers fired, or the next timer lies more than `maxTimeMs` beyond the start.
   * The bounds make self-rescheduling loops (resync tickers, lease renewals) safe to run. When stopped by
   * `maxTimeMs`, time is left at the bound.
   */
  runUntilIdle(options: RunUntilIdleOptions = {}): RunUntilIdleResult {
    const bounds = this.#idleBounds(options);
    for (let fired = 0; ; fired++) {
      const step = this.#idleStep(fired, bounds);
      if ("done" in step) return step.done;
      this.#fire(step.next);
    }
  }

  #idleBounds(options: RunUntilIdleOptions): { maxSteps: number; limitMs: number } {
    return { maxSteps: options.maxSteps ?? 100_000, limitMs: this.#nowMs + (options.maxTimeMs ?? Number.POSITIVE_INFINITY) };
  }

  /** The next timer a run-until-idle loop fires, or why it stops (shared by the sync and async loops). */
  #idleStep(fired: number, bounds: { maxSteps: number; limitMs: number }): { next: TimerEntry } | { done: RunUntilIdleResult } {
    const next = this.#peekLive();
    if (next === undefined) return { done: { fired, idle: true, nowMs: this.#nowMs } };
    if (fired >= bounds.maxSteps) return { done: { fired, idle: false, nowMs: this.#nowMs } };
    if (next.dueMs > bounds.limitMs) {
      this.#nowMs = Math.max(this.#nowMs, bounds.limitMs);
      return { done: { fired, idle: false, nowMs: this.#nowMs } };
    }
    return { next };
  }

  /** Lets every pending microtask (and promise chain) run without moving time. */
  async flush(): Promise<void> {
    await yieldToEventLoop();
  }

  /**
   * Like {@link advance}, but yields to the event loop before and after each timer so `await`ed sleeps
   * and the promise chains behind them make progress; sleeps those continuations start are honoured if
   * they fall due within the advance. Resolves to the number of timers fired.
   */
  async advanceAsync(ms: number): Promise<number> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`VirtualClock.advanceAsync: invalid duration ${ms}`);
    const targetMs = this.#nowMs + ms;
    let fired = 0;
    await yieldToEventLoop();
    for (;;) {
      const next = this.#peekLive();
      if (next === undefined || next.dueMs > targetMs) break;
      this.#fire(next);
      fired++;
      await yieldToEventLoop();
    }
    this.#nowMs = targetMs;
    await yieldToEventLoop();
    return fired;
  }

  /** The async counterpart of {@link runUntilIdle}, yielding to the event loop around every timer. */
  async runUntilIdleAsync(options: RunUntilIdleOptions = {}): Promise<RunUntilIdleResult> {
    const bounds = this.#idleBounds(options);
    await yieldToEventLoop();
    for (let fired = 0; ; fired++) {
      const step = this.#idleStep(fired, bounds);
      if ("done" in step) return step.done;
      this.#fire(step.next);
      await yieldToEventLoop();
    }
  }

  #fire(entry: TimerEntry): void {
    this.#pop();
    this.#live.delete(entry.id);
    if (entry.dueMs > this.#nowMs) this.#nowMs = entry.dueMs;
    entry.callback();
  }

  /** The earliest live timer, discarding cancelled ones from the top of the heap. */
  #peekLive(): TimerEntry | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || this.#live.has(top.id)) return top;
      this.#pop();
    }
  }

  #push(entry: TimerEntry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as TimerEntry;
      if (!earlier(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = last;
      let at = -1;
      const left = heap[l];
      if (left !== undefined && earlier(left, smallest)) {
        smallest = left;
        at = l;
      }
      const right = heap[r];
      if (right !== undefined && earlier(right, smallest)) {
        smallest = right;
        at = r;
      }
      if (at < 0) break;
      heap[i] = smallest;
      i = at;
    }
    heap[i] = last;
  }
}
