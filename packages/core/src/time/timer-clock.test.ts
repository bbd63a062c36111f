import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TimerHandle } from "../ports/clock.port.js";
import { createTimerClock, sleepOnTimer } from "./timer-clock.js";

/** Manual timers: a list of pending callbacks the test fires. */
function manualTimers() {
  let next = 0;
  const pending = new Map<number, { callback: () => void; delayMs: number }>();
  return {
    pending,
    now: () => 1_000,
    startTimer: (callback: () => void, delayMs: number) => {
      pending.set(next, { callback, delayMs });
      return next++;
    },
    stopTimer: (handle: number) => pending.delete(handle),
    fireAll: () => {
      for (const [id, t] of [...pending]) {
        pending.delete(id);
        t.callback();
      }
    },
  };
}

describe("sleepOnTimer", () => {
  it("resolves when the timer fires and leaves no listener behind", async () => {
    const host = manualTimers();
    const clock = createTimerClock(host);
    const controller = new AbortController();
    const sleeping = clock.sleep(50, controller.signal);
    expect([...host.pending.values()].map((t) => t.delayMs)).toEqual([50]);
    host.fireAll();
    await expect(sleeping).resolves.toBeUndefined();
    // Aborting afterwards changes nothing (the listener is gone).
    controller.abort(new Error("late"));
  });

  it("rejects with the abort reason and cancels its timer, whether aborted before or during the sleep", async () => {
    const host = manualTimers();
    const clock = createTimerClock(host);
    const controller = new AbortController();
    const sleeping = clock.sleep(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow("stop");
    expect(host.pending.size).toBe(0);
    await expect(clock.sleep(1, controller.signal)).rejects.toThrow("stop");
    expect(host.pending.size).toBe(0);
  });

  it("works on any setTimer", async () => {
    const handles: TimerHandle[] = [];
    let fire: (() => void) | undefined;
    const sleeping = sleepOnTimer((_ms, callback) => {
      fire = callback;
      const handle = { cancel: () => undefined };
      handles.push(handle);
      return handle;
    }, 5);
    fire?.();
    await expect(sleeping).resolves.toBeUndefined();
    expect(handles).toHaveLength(1);
  });
});

describe("createTimerClock", () => {
  it("reads the host's time and clamps negative and NaN delays to 0", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer({ min: -5, max: 5 })), (delayMs) => {
        const host = manualTimers();
        const clock = createTimerClock(host);
        expect(clock.now()).toBe(1_000);
        clock.setTimer(delayMs, () => undefined);
        const [timer] = [...host.pending.values()];
        expect(timer?.delayMs).toBe(Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0);
      }),
    );
  });

  it("cancels through the host", () => {
    const host = manualTimers();
    const fired: string[] = [];
    createTimerClock(host).setTimer(5, () => fired.push("x")).cancel();
    host.fireAll();
    expect(fired).toEqual([]);
  });
});
