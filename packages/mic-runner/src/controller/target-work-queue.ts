import type { ClockPort, TimerHandle } from "@podid/core";

/** How a {@link TargetWorkQueue} runs its keys. */
export interface TargetWorkQueueOptions<P> {
  /** Works on one key. Never called for a key whose previous run has not settled. */
  readonly run: (key: string, payload: P | undefined) => Promise<void>;
  /** Keys worked on at the same time (default unbounded). */
  readonly concurrency?: number;
  /** Told when a run rejects (runs should handle their own failures; this is the last resort). */
  readonly onError?: (error: unknown, key: string) => void;
}

interface Pending<P> {
  dueMs: number;
  payload: P | undefined;
  /** Order of the first mark since the last run: FIFO among keys due at the same time. */
  readonly order: number;
}

/**
 * Keyed work with wake-up times, in the spirit of a controller work queue: {@link mark} says "work on
 * this key no earlier than `atMs`"; marks of a key that has not started yet coalesce into one run (the
 * earliest time and the latest payload win); a key marked while it runs is run once more after that run,
 * never beside it; at most `concurrency` keys run at once, and keys waiting for a slot start in the order
 * they fell due. Runs start from a timer on the given clock, so tests drive it with a virtual clock.
 * MIC uses one queue for its planning and drift passes and one for VM/VMSS work (the planned work of a
 * target is the payload).
 */
export class TargetWorkQueue<P = undefined> {
  readonly #clock: ClockPort;
  readonly #options: TargetWorkQueueOptions<P>;
  readonly #pending = new Map<string, Pending<P>>();
  readonly #running = new Set<string>();
  readonly #idleWaiters: (() => void)[] = [];
  #timer: { readonly handle: TimerHandle; readonly atMs: number } | undefined;
  #marks = 0;
  #stopped = false;

  /** A queue whose runs start on `clock`'s timers. */
  constructor(clock: ClockPort, options: TargetWorkQueueOptions<P>) {
    this.#clock = clock;
    this.#options = options;
  }

  /** Asks for a run of `key` at or after `atMs` (default now), carrying `payload` (the latest one given wins). */
  mark(key: string, atMs: number = this.#clock.now(), payload?: P): void {
    if (this.#stopped) return;
    const pending = this.#pending.get(key);
    if (pending === undefined) this.#pending.set(key, { dueMs: atMs, payload, order: this.#marks++ });
    else {
      pending.dueMs = Math.min(pending.dueMs, atMs);
      if (payload !== undefined) pending.payload = payload;
    }
    this.#schedule();
  }

  /** Forgets every key that has not started yet (runs in progress are left alone). */
  dropPending(): void {
    this.#pending.clear();
    this.#schedule();
  }

  /** True while a run of `key` is in progress. */
  isRunning(key: string): boolean {
    return this.#running.has(key);
  }

  /** True while `key` waits for a run or runs. */
  has(key: string): boolean {
    return this.#pending.has(key) || this.#running.has(key);
  }

  /** When `key`'s next run is due, if one is waiting. */
  dueAt(key: string): number | undefined {
    return this.#pending.get(key)?.dueMs;
  }

  /** Runs in progress. */
  get running(): number {
    return this.#running.size;
  }

  /** Keys waiting plus runs in progress. */
  get size(): number {
    return this.#pending.size + this.#running.size;
  }

  /** Resolves when no run is in progress. */
  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Starts nothing more: waiting keys are dropped and later marks ignored; runs in progress finish. */
  stop(): void {
    this.#stopped = true;
    this.#pending.clear();
    this.#timer?.handle.cancel();
    this.#timer = undefined;
  }

  /** Keeps one timer, for the earliest key that could start (none while every slot is taken). */
  #schedule(): void {
    const limit = this.#options.concurrency ?? Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    if (!this.#stopped && this.#running.size < limit) {
      for (const [key, pending] of this.#pending) if (!this.#running.has(key)) next = Math.min(next, pending.dueMs);
    }
    if (this.#timer?.atMs === next) return;
    this.#timer?.handle.cancel();
    this.#timer = undefined;
    if (next === Number.POSITIVE_INFINITY) return;
    const handle = this.#clock.setTimer(Math.max(0, next - this.#clock.now()), () => {
      this.#timer = undefined;
      this.#startDue();
    });
    this.#timer = { handle, atMs: next };
  }

  #startDue(): void {
    const limit = this.#options.concurrency ?? Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const due = [...this.#pending]
      .filter(([key, pending]) => pending.dueMs <= now && !this.#running.has(key))
      .sort(([, a], [, b]) => a.dueMs - b.dueMs || a.order - b.order);
    for (const [key, pending] of due) {
      if (this.#running.size >= limit) break;
      this.#pending.delete(key);
      this.#running.add(key);
      void this.#run(key, pending.payload);
    }
    this.#schedule();
  }

  async #run(key: string, payload: P | undefined): Promise<void> {
    try {
      await this.#options.run(key, payload);
    } catch (error) {
      this.#options.onError?.(error, key);
    } finally {
      this.#running.delete(key);
      this.#schedule();
      if (this.#running.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}
