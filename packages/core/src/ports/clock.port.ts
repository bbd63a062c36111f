import type { CancellationSignal } from "./cancellation.js";

/** A handle returned by {@link ClockPort.setTimer}. */
export interface TimerHandle {
  cancel(): void;
}

/** Time, injected everywhere so tests and simulations can run on a virtual clock. */
export interface ClockPort {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` once after `delayMs`. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** Resolves after `delayMs`, or rejects with the signal's reason when aborted first. */
  sleep(delayMs: number, signal?: CancellationSignal): Promise<void>;
}
