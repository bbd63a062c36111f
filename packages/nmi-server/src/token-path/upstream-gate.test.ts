import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "@podid/testkit";
import { UpstreamGate, type GateResult } from "./6-upstream.js";

describe("UpstreamGate", () => {
  it("never runs more than 4 at once nor starts more than 15 in any second (both ends included); every admitted call runs", async () => {
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
                gate.run("pod", async () => {
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
          expect(maxInFlight).toBeLessThanOrEqual(4);
          for (const t of starts) expect(starts.filter((s) => s >= t && s <= t + 1000).length).toBeLessThanOrEqual(15);
          // Refusals only happen when more than 4 running + 64 queued could be outstanding.
          if (calls.length <= 68) expect(ran).toBe(calls.length);
          expect(gate.inFlight).toBe(0);
          expect(gate.queued).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a burst of 100 from one pod: 4 start, 64 queue and start as rate and concurrency allow, 32 are refused with Retry-After", async () => {
    const clock = new VirtualClock();
    const gate = new UpstreamGate(clock);
    const starts: number[] = [];
    const results = Array.from({ length: 100 }, () =>
      gate.run("pod", async () => {
        starts.push(clock.now());
        await clock.sleep(100);
      }),
    );
    await clock.runUntilIdleAsync();
    const settled = await Promise.all(results);
    expect(settled.filter((r) => r.kind === "ran")).toHaveLength(68);
    const refused = settled.filter((r) => r.kind === "rejected");
    expect(refused).toHaveLength(32);
    for (const r of refused) expect(r.kind === "rejected" && r.retryAfterMs).toBeGreaterThanOrEqual(1000);
    // 15 per second, a window closed at both ends: the 68th start comes more than 4 windows after the first.
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThan(4000);
  });

  it("serves pods round robin: a pod arriving behind another pod's full queue starts in the first opening, pushing out the backlog's newest call", async () => {
    const clock = new VirtualClock();
    const gate = new UpstreamGate(clock);
    const order: string[] = [];
    const call = (pod: string) =>
      gate.run(pod, async () => {
        order.push(pod);
        await clock.sleep(50);
      });
    const flood = Array.from({ length: 4 + 64 }, () => call("flood"));
    const victim = call("victim");
    await clock.advanceAsync(60);
    // The backlog's first queued call came first (it was a newcomer too), then the victim, then the backlog.
    expect(order.slice(0, 8)).toEqual(["flood", "flood", "flood", "flood", "flood", "victim", "flood", "flood"]);
    await clock.runUntilIdleAsync();
    expect((await victim).kind).toBe("ran");
    const results = await Promise.all(flood);
    expect(results.filter((r) => r.kind === "rejected")).toHaveLength(1);
  });

  it("pauses after an upstream 429 and refuses everything once closed", async () => {
    const clock = new VirtualClock();
    const gate = new UpstreamGate(clock);
    gate.throttled(2000);
    let startedAt = -1;
    const pending = gate.run("pod", async () => {
      startedAt = clock.now();
      return 1;
    });
    await clock.advanceAsync(1999);
    expect(startedAt).toBe(-1);
    await clock.advanceAsync(1);
    expect(await pending).toEqual({ kind: "ran", value: 1 });
    expect(startedAt).toBe(clock.now());
    gate.close();
    expect((await gate.run("pod", async () => 2)).kind).toBe("rejected");
  });
});
