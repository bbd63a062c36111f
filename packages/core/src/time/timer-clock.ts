import type { CancellationSignal } from "../ports/cancellation.js";
import type { ClockPort, TimerHandle } from "../ports/clock.port.js";

/**
 * `ClockPort.sleep` in terms of `setTimer` — one rule for every clock (the real ones in adapter-k8s and
 * testkit, and testkit's virtual clock) — and a whole `ClockPort` over a host's timers. Core compiles
 * without Node or DOM typings, so the host's timer functions are passed in.
 * @packageDocumentation
 */

/** A runtime's clock and timer functions (on Node: `Date.now`, and `setTimeout`/`clearTimeout` behind the two timer members). */
export interface HostTimers<Handle> {
  now(): number;
  /** Calls `callback` once after `delayMs` (already clamped to ≥ 0). */
  startTimer(callback: () => void, delayMs: number): Handle;
  stopTimer(handle: Handle): void;
}

/**
 * Resolves after `delayMs` on `setTimer`'s clock. Rejects with `signal.reason` when the signal is already
 * aborted or aborts first; the pending timer is cancelled then, so nothing is left behind.
 */
export function sleepOnTimer(
  setTimer: (delayMs: number, callback: () => void) => TimerHandle,
  delayMs: number,
  signal?: CancellationSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = setTimer(delayMs, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A {@link ClockPort} on a host's timers; negative or NaN delays count as 0, as the host's timers treat them. */
export function createTimerClock<Handle>(host: HostTimers<Handle>): ClockPort {
  const setTimer = (delayMs: number, callback: () => void): TimerHandle => {
    const handle = host.startTimer(callback, Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0);
    return { cancel: () => host.stopTimer(handle) };
  };
  return {
    now: () => host.now(),
    setTimer,
    sleep: (delayMs, signal) => sleepOnTimer(setTimer, delayMs, signal),
  };
}
