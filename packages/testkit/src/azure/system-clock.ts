import type { CancellationSignal, ClockPort, TimerHandle } from "@podid/core";

/**
 * A {@link ClockPort} on real time (`Date.now`, `setTimeout`). The HTTP fakes are driven by real clients
 * with real timeouts, so in-memory fakes behind them (e.g. a `FakeCompute` whose PATCH latency models
 * ARM's long-running operation) need a clock that advances by itself:
 * `new FakeCompute({ clock: systemClock, patchLatencyMs: 200 })`. Timers are unref'd so a forgotten one
 * never keeps a process alive.
 */
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
