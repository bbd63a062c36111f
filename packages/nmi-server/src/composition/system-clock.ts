import type { CancellationSignal, ClockPort, TimerHandle } from "@podid/core";

/** {@link ClockPort} on real time (`Date.now`, `setTimeout`); timers are unref'd so they never hold the process open. */
export const systemClock: ClockPort = {
  now: () => Date.now(),
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  sleep(delayMs: number, signal?: CancellationSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, delayMs));
      timer.unref();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};
