import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { VirtualClock } from "./virtual-clock.js";

describe("VirtualClock", () => {
  it("starts at the given time and only moves when advanced", () => {
    const clock = new VirtualClock({ startMs: 1000 });
    expect(clock.now()).toBe(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
    clock.advanceTo(2000);
    expect(clock.now()).toBe(2000);
    expect(() => clock.advanceTo(1999)).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });

  it("fires a timer exactly at its due time and shows that time to the callback", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const seen: number[] = [];
    clock.setTimer(100, () => seen.push(clock.now()));
    expect(clock.advance(99)).toBe(0);
    expect(seen).toEqual([]);
    expect(clock.advance(1)).toBe(1);
    expect(seen).toEqual([100]);
    expect(clock.pendingTimers()).toEqual([]);
  });

  it("fires equal due times first-in-first-out and negative delays immediately", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const order: string[] = [];
    clock.setTimer(10, () => order.push("a"));
    clock.setTimer(10, () => order.push("b"));
    clock.setTimer(-5, () => order.push("now"));
    clock.setTimer(10, () => order.push("c"));
    clock.advance(10);
    expect(order).toEqual(["now", "a", "b", "c"]);
  });

  it("fires timers scheduled by callbacks during the same advance, in time order", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const order: Array<[string, number]> = [];
    clock.setTimer(10, () => {
      order.push(["first", clock.now()]);
      clock.setTimer(5, () => order.push(["chained", clock.now()]));
      clock.setTimer(0, () => order.push(["zero", clock.now()]));
    });
    clock.setTimer(12, () => order.push(["second", clock.now()]));
    clock.setTimer(30, () => order.push(["late", clock.now()]));
    expect(clock.advance(20)).toBe(4);
    expect(order).toEqual([
      ["first", 10],
      ["zero", 10],
      ["second", 12],
      ["chained", 15],
    ]);
    expect(clock.pendingTimers().map((t) => t.dueMs)).toEqual([30]);
    expect(clock.now()).toBe(20);
  });

  it("does not fire cancelled timers and cancel is idempotent", () => {
    const clock = new VirtualClock({ startMs: 0 });
    let fired = 0;
    const handle = clock.setTimer(5, () => fired++);
    handle.cancel();
    handle.cancel();
    expect(clock.pendingTimers()).toEqual([]);
    clock.advance(10);
    expect(fired).toBe(0);
  });

  it("runUntilIdle drains finite schedules and is bounded for self-rescheduling loops", () => {
    const clock = new VirtualClock({ startMs: 0 });
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      clock.setTimer(1000, tick);
    };
    clock.setTimer(1000, tick);
    const bySteps = clock.runUntilIdle({ maxSteps: 5 });
    expect(bySteps).toEqual({ fired: 5, idle: false, nowMs: 5000 });
    const byTime = clock.runUntilIdle({ maxTimeMs: 2500 });
    expect(byTime).toEqual({ fired: 2, idle: false, nowMs: 7500 });
    expect(ticks).toBe(7);

    const finite = new VirtualClock({ startMs: 0 });
    finite.setTimer(3, () => finite.setTimer(4, () => undefined));
    expect(finite.runUntilIdle()).toEqual({ fired: 2, idle: true, nowMs: 7 });
  });

  it("sleep resolves after the delay and rejects with the abort reason", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    let resolved = false;
    const sleeping = clock.sleep(50).then(() => {
      resolved = true;
    });
    clock.advance(49);
    await clock.flush();
    expect(resolved).toBe(false);
    clock.advance(1);
    await sleeping;
    expect(resolved).toBe(true);

    const controller = new AbortController();
    const aborted = clock.sleep(100, controller.signal);
    expect(clock.pendingTimers()).toHaveLength(1);
    controller.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
    expect(clock.pendingTimers()).toHaveLength(0);

    const pre = new AbortController();
    pre.abort("already");
    await expect(clock.sleep(1, pre.signal)).rejects.toBe("already");
    expect(clock.pendingTimers()).toHaveLength(0);
  });

  it("advanceAsync lets chains of awaited sleeps progress within one advance", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const stamps: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        await Promise.resolve();
        stamps.push(clock.now());
      }
      return "done";
    })();
    // A synchronous advance fires only the first sleep: the continuation has not run yet.
    const sync = new VirtualClock({ startMs: 0 });
    let syncSteps = 0;
    void (async () => {
      await sync.sleep(100);
      syncSteps++;
      await sync.sleep(100);
      syncSteps++;
    })();
    sync.advance(200);
    await sync.flush();
    expect(syncSteps).toBe(1);

    expect(await clock.advanceAsync(300)).toBe(3);
    expect(stamps).toEqual([100, 200, 300]);
    expect(await loop).toBe("done");
  });

  it("runUntilIdleAsync drives an async retry loop to completion", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    let attempts = 0;
    const work = (async () => {
      let delay = 100;
      while (++attempts < 5) {
        await clock.sleep(delay);
        delay *= 2;
      }
      return clock.now();
    })();
    const result = await clock.runUntilIdleAsync();
    expect(result.idle).toBe(true);
    expect(await work).toBe(100 + 200 + 400 + 800);
  });

  it("property: timers fire in (due time, creation) order for random schedules, each exactly once", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.integer({ min: -5, max: 500 }), cancel: fc.boolean() }), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 8 }),
        (schedule, steps) => {
          const clock = new VirtualClock({ startMs: 0 });
          const fired: Array<{ index: number; at: number }> = [];
          schedule.forEach((t, index) => {
            const handle = clock.setTimer(t.delay, () => fired.push({ index, at: clock.now() }));
            if (t.cancel) handle.cancel();
          });
          for (const step of steps) clock.advance(step);
          clock.runUntilIdle();
          const expected = schedule
            .map((t, index) => ({ index, due: Math.max(0, t.delay), cancel: t.cancel }))
            .filter((t) => !t.cancel)
            .sort((a, b) => a.due - b.due || a.index - b.index);
          expect(fired.map((f) => f.index)).toEqual(expected.map((e) => e.index));
          for (const f of fired) {
            const delay = schedule[f.index]?.delay ?? 0;
            expect(f.at).toBe(Math.max(0, delay));
          }
          expect(clock.pendingTimers()).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("property: pendingTimers lists exactly the live timers in firing order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 40 }), fc.integer({ min: 0, max: 60 }), (delays, step) => {
        const clock = new VirtualClock({ startMs: 0 });
        delays.forEach((d) => clock.setTimer(d, () => undefined));
        clock.advance(step);
        const pending = clock.pendingTimers();
        expect(pending.map((p) => p.dueMs)).toEqual(delays.filter((d) => d > step).sort((a, b) => a - b));
        expect(clock.nextDueMs()).toBe(pending[0]?.dueMs);
      }),
      { numRuns: 200 },
    );
  });
});
