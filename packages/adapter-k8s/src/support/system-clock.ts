import type { CancellationSignal, ClockPort, TimerHandle } from "@podid/core";

/**
 * The production {@link ClockPort}: wall-clock time and Node timers. Timers are `unref`'d so a pending
 * informer backoff, watchdog or election retry never keeps a process alive on its own; whoever owns the
 * loop (the server, the CLI) decides when the process ends.
 */
export class SystemClock implements ClockPort {
  /** Milliseconds since the Unix epoch (`Date.now()`). */
  now(): number {
    return Date.now();
  }

  /** Calls `callback` once after `delayMs` (negative or NaN delays count as 0, as `setTimeout` does). */
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const handle = setTimeout(callback, Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  }

  /** Resolves after `delayMs`; rejects with the signal's reason when it aborts first (the timer is cleared). */
  sleep(delayMs: number, signal?: CancellationSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        timer.cancel();
        reject(signal?.reason);
      };
      const timer = this.setTimer(delayMs, () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** A shared {@link SystemClock}; it holds no state, so one instance serves everyone. */
export const systemClock: ClockPort = new SystemClock();
