import { describe, expect, it } from "vitest";
import { VirtualClock } from "@podid/testkit";
import { arrivalOffsetsMs, scheduleArrivals } from "./burst-arrivals.js";
import { buildScaleWorld } from "./scale-world.js";

describe("arrivalOffsetsMs (replaying bench:mic-real's creation curve)", () => {
  it("spreads pods evenly over a one-point curve, in index order", () => {
    expect(arrivalOffsetsMs(10, [10])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => s * 1000));
  });

  it("follows a measured curve: fast, stalled, then slow", () => {
    // 10 pods by 1 s, the next 10 also by 1 s (a fast stretch), the last 10 by 4 s.
    const offsets = arrivalOffsetsMs(30, [1, 1, 4]);
    expect(offsets.slice(0, 10)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(offsets.slice(10, 20).every((t) => t === 1000)).toBe(true);
    expect(offsets[20]).toBe(1300);
    expect(offsets[29]).toBe(4000);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
  });

  it("puts the (k + 1)-th point where the bench records it when pods do not divide evenly", () => {
    // The bench records point k once ceil((k + 1) · 7 / 2) pods exist: after pod 4 and after pod 7.
    const offsets = arrivalOffsetsMs(7, [2, 5]);
    expect(offsets[3]).toBe(2000);
    expect(offsets[6]).toBe(5000);
  });

  it("refuses curves that are empty, negative, not finite or go back in time", () => {
    expect(() => arrivalOffsetsMs(5, [])).toThrow(/no points/);
    expect(() => arrivalOffsetsMs(5, [-1])).toThrow(/not a time/);
    expect(() => arrivalOffsetsMs(5, [Number.NaN])).toThrow(/not a time/);
    expect(() => arrivalOffsetsMs(5, [3, 2])).toThrow(/back in time/);
    expect(() => arrivalOffsetsMs(-1, [1])).toThrow(/non-negative integer/);
  });
});

describe("scheduleArrivals", () => {
  it("delivers each item at its offset on the virtual clock", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const arrived: [string, number][] = [];
    scheduleArrivals(clock, ["a", "b", "c"], [0, 500, 1500], (item) => arrived.push([item, clock.now()]));
    expect(arrived).toEqual([["a", 0]]);
    await clock.advanceAsync(2000);
    expect(arrived).toEqual([["a", 0], ["b", 500], ["c", 1500]]);
  });

  it("refuses a schedule that does not match the items", () => {
    expect(() => scheduleArrivals(new VirtualClock(), ["a"], [], () => undefined)).toThrow(/1 items but 0 arrival times/);
  });
});

describe("a burst created over time in the simulated world", () => {
  /**
   * 1,000 pods on 2 scale sets of 50 nodes with 200 identities: every (scale set, identity) pair appears
   * only once 1,000 pods exist. Created at once, each scale set needs one PATCH; created over 20 s (the
   * real bench took about that long at 10,000 pods), the first planning pass sees a few dozen pods and
   * the scale sets need a second PATCH for the identities of later pods — what the real process did.
   */
  async function patchesPerScaleSet(curveS: readonly number[]): Promise<{ patches: number[]; assigned: number; firstAssignedMs: number }> {
    const shape = { pods: 1_000, nodes: 100, nodesPerScaleSet: 50, identities: 200, namespaces: 20 };
    const world = buildScaleWorld(shape, {}, { vmssPatchMs: 5_000, kube: { qps: 50, maxConcurrentWrites: 20 } });
    world.controller.start();
    const t0 = world.clock.now();
    scheduleArrivals(world.clock, world.cluster0.pods, arrivalOffsetsMs(world.cluster0.pods.length, curveS), (pod) => world.cluster.apply("pods", pod));
    for (let step = 0; step < 600 && world.assignedAt.size < shape.pods; step++) await world.clock.advanceAsync(1_000);
    world.controller.stop();
    return {
      patches: world.targets.map((t) => world.compute.countsFor(t).patches),
      assigned: world.assignedAt.size,
      firstAssignedMs: Math.min(...world.assignedAt.values()) - t0,
    };
  }

  it("needs a second PATCH per scale set when pods keep arriving, one when they all exist at once", async () => {
    const instant = await patchesPerScaleSet([0]);
    const overTime = await patchesPerScaleSet([20]);
    expect(instant.assigned).toBe(1_000);
    expect(overTime.assigned).toBe(1_000);
    expect(instant.patches).toEqual([1, 1]);
    expect(overTime.patches.every((p) => p >= 2)).toBe(true);
  }, 60_000);
});
