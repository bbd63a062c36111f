import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "@podid/testkit";
import { UpstreamGate, type GateResult } from "./6-upstream.js";

describe("UpstreamGate", () => {
  it("never runs more than 5 at once nor starts more than 20 in any second; every admitted call runs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 3000 }), duration: fc.integer({ min: 1, max: 900 }) }), { maxLength: 150 }),
        async (calls) => {
          const clock = new VirtualClock();
          const gate = new UpstreamGate(clock);
          const starts: number[] = [];
          let inFlight = 0;
          let maxInFlight = 0;
          const results: Promise<GateResult<number>>[] = [];
          for (const call of calls) {
            clock.setTimer(call.at, () => {
              results.push(
                gate.run(async () => {
                  starts.push(clock.now());
                  inFlight += 1;
                  maxInFlight = Math.max(maxInFlight, inFlight);
                  await clock.sleep(call.duration);
                  inFlight -= 1;
                  return call.duration;
                }),
              );
            });
          }
          await clock.runUntilIdleAsync({ maxSteps: 10_000 });
          const settled = await Promise.all(results);
          expect(settled).toHaveLength(calls.length);
          const ran = settled.filter((r) => r.kind === "ran").length;
          expect(ran).toBe(starts.length);
          expect(maxInFlight).toBeLessThanOrEqual(5);
          for (const t of starts) expect(starts.filter((s) => s >= t && s < t + 1000).length).toBeLessThanOrEqual(20);
          // Refusals only happen when more than 5 running + 64 queued could be outstanding.
          if (calls.length <= 69) expect(ran).toBe(calls.length);
          expect(gate.inFlight).toBe(0);
          expect(gate.queued).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a burst of 100: 5 start, 64 queue and start as rate and concurrency allow, 31 are refused with Retry-After", async () => {
    const clock = new VirtualClock();
    const gate = new UpstreamGate(clock);
    const starts: number[] = [];
    const results = Array.from({ length: 100 }, () =>
      gate.run(async () => {
        starts.push(clock.now());
        await clock.sleep(100);
      }),
    );
    await clock.runUntilIdleAsync();
    const settled = await Promise.all(results);
    expect(settled.filter((r) => r.kind === "ran")).toHaveLength(69);
    const refused = settled.filter((r) => r.kind === "rejected");
    expect(refused).toHaveLength(31);
    for (const r of refused) expect(r.kind === "rejected" && r.retryAfterMs).toBeGreaterThanOrEqual(1000);
    // 20 per second: the 69th start cannot happen before 3 s have passed.
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(3000);
  });

  it("pauses after an upstream 429 and refuses everything once closed", async () => {
    const clock = new VirtualClock();
    const gate = new UpstreamGate(clock);
    gate.throttled(2000);
    let startedAt = -1;
    const pending = gate.run(async () => {
      startedAt = clock.now();
      return 1;
    });
    await clock.advanceAsync(1999);
    expect(startedAt).toBe(-1);
    await clock.advanceAsync(1);
    expect(await pending).toEqual({ kind: "ran", value: 1 });
    expect(startedAt).toBe(clock.now());
    gate.close();
    expect((await gate.run(async () => 2)).kind).toBe("rejected");
  });
});
