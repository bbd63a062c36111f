import { createTimerClock, type ClockPort } from "@podid/core";

/**
 * A {@link ClockPort} on real time (`Date.now`, `setTimeout`), through core's `createTimerClock`. The HTTP
 * fakes are driven by real clients with real timeouts, so in-memory fakes behind them (e.g. a
 * `FakeCompute` whose PATCH latency models ARM's long-running operation) need a clock that advances by
 * itself: `new FakeCompute({ clock: systemClock, patchLatencyMs: 200 })`. Timers are unref'd so a
 * forgotten one never keeps a process alive.
 */
export const systemClock: ClockPort = createTimerClock({
  now: () => Date.now(),
  startTimer: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  stopTimer: (handle) => clearTimeout(handle),
});
