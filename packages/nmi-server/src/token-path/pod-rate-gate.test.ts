import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allowPodRequest, createPodRateLimiter, prunePodBuckets } from "@podid/core";
import { VirtualClock } from "@podid/testkit";
import { PodRateGate } from "./5-token-cache.js";

/**
 * The per-pod gate keeps one core limiter state per pod (so a request never copies the other pods'
 * buckets). These tests pin that it decides exactly as core's limiter with one shared state does.
 */
describe("PodRateGate", () => {
  it("decides every request as core's limiter with one shared state would (random pods and times)", () => {
    const step = fc.record({ pod: fc.constantFrom("u1", "u2", "u3", "u4"), advanceMs: fc.integer({ min: 0, max: 700 }), forget: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 6 }), (steps, ratePerSecond, burst) => {
        const clock = new VirtualClock();
        const gate = new PodRateGate(clock, { ratePerSecond, burst });
        let shared = createPodRateLimiter({ ratePerSecond, burst });
        for (const s of steps) {
          clock.advance(s.advanceMs);
          if (s.forget && s.advanceMs % 7 === 0) {
            gate.forget(s.pod);
            const buckets = new Map(shared.buckets);
            buckets.delete(s.pod);
            shared = { ...shared, buckets };
            continue;
          }
          const expected = allowPodRequest(shared, s.pod, clock.now());
          shared = expected.state;
          expect(gate.allow(s.pod)).toEqual(expected.decision);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("keeps one pod's exhausted bucket from refusing another pod", () => {
    const gate = new PodRateGate(new VirtualClock(), { ratePerSecond: 1, burst: 2 });
    expect([gate.allow("noisy"), gate.allow("noisy"), gate.allow("noisy")].map((d) => d.kind)).toEqual(["allow", "allow", "deny"]);
    expect(gate.allow("quiet").kind).toBe("allow");
  });

  it("drops the buckets of pods that have been quiet long enough to be full again, as core's pruning does", () => {
    const clock = new VirtualClock();
    const gate = new PodRateGate(clock, { ratePerSecond: 100, burst: 5 });
    gate.allow("once");
    for (let i = 0; i < 4094; i++) gate.allow("busy");
    expect(gate.trackedPods).toBe(2);
    // 10 ms later "once" is full again (core drops its bucket), "busy" has refilled one token of five.
    clock.advance(10);
    expect(prunePodBuckets(allowPodRequest(createPodRateLimiter({ ratePerSecond: 100, burst: 5 }), "once", 0).state, clock.now()).buckets.size).toBe(0);
    // The 4096th request prunes.
    gate.allow("busy");
    expect(gate.trackedPods).toBe(1);
    expect(gate.allow("once").kind).toBe("allow");
  });

  it("allows everything when the limit is off (rate 0)", () => {
    const gate = new PodRateGate(new VirtualClock(), { ratePerSecond: 0, burst: 1 });
    expect(Array.from({ length: 50 }, () => gate.allow("p").kind).every((k) => k === "allow")).toBe(true);
    expect(gate.trackedPods).toBe(0);
  });
});
