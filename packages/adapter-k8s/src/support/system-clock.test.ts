import { describe, expect, it } from "vitest";
import { systemClock } from "./system-clock.js";

describe("systemClock", () => {
  it("tells wall-clock time", () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it("fires timers once and not after cancel", async () => {
    const clock = systemClock;
    const fired: string[] = [];
    clock.setTimer(5, () => fired.push("a"));
    clock.setTimer(5, () => fired.push("b")).cancel();
    await clock.sleep(30);
    expect(fired).toEqual(["a"]);
  });

  it("sleep rejects with the abort reason", async () => {
    const clock = systemClock;
    const controller = new AbortController();
    const sleeping = clock.sleep(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow("stop");
    const aborted = new AbortController();
    aborted.abort(new Error("already"));
    await expect(clock.sleep(1, aborted.signal)).rejects.toThrow("already");
  });
});
