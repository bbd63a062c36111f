import { createTimerClock, type ClockPort } from "@podid/core";

/**
 * The production {@link ClockPort}: wall-clock time and Node timers, through core's `createTimerClock`.
 * Timers are `unref`'d so a pending informer backoff, watchdog or election retry never keeps a process
 * alive on its own; whoever owns the loop (the server, the CLI) decides when the process ends. It holds no
 * state, so one instance serves everyone.
 */
export const systemClock: ClockPort = createTimerClock({
  now: () => Date.now(),
  startTimer: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  stopTimer: (handle) => clearTimeout(handle),
});
