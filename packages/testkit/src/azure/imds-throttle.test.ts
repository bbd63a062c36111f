import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { ImdsThrottle } from "./imds-throttle.js";

type Step = { readonly op: "enter" } | { readonly op: "release"; readonly index: number } | { readonly op: "advance"; readonly ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.constant({ op: "enter" as const }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant("release" as const), index: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 400 }) }), weight: 2 },
);

describe("ImdsThrottle", () => {
  it("never admits more than the rate in any rolling second or more than the limit at once, and refuses only then", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 8 }), fc.array(stepArb, { maxLength: 120 }), (rate, concurrent, steps) => {
        const clock = new VirtualClock({ startMs: 0 });
        const throttle = new ImdsThrottle(clock, { requestsPerSecond: rate, maxConcurrent: concurrent });
        const admittedAt: number[] = [];
        const open: (() => void)[] = [];
        for (const step of steps) {
          if (step.op === "advance") clock.advance(step.ms);
          else if (step.op === "release") {
            const [release] = open.splice(step.index % Math.max(1, open.length), 1);
            release?.();
          } else {
            const now = clock.now();
            const inWindow = admittedAt.filter((t) => t > now - 1000).length;
            const admission = throttle.tryEnter();
            if (admission.admitted) {
              admittedAt.push(now);
              open.push(admission.release);
              expect(inWindow).toBeLessThan(rate);
            } else {
              expect(admission.reason === "concurrency" ? open.length >= concurrent : inWindow >= rate).toBe(true);
            }
          }
          expect(throttle.inFlight).toBe(open.length);
          expect(open.length).toBeLessThanOrEqual(concurrent);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("defaults to IMDS's 20 requests per second and 5 concurrent, and a release is idempotent", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const throttle = new ImdsThrottle(clock);
    const first = Array.from({ length: 5 }, () => throttle.tryEnter());
    expect(first.every((a) => a.admitted)).toBe(true);
    expect(throttle.tryEnter()).toEqual({ admitted: false, reason: "concurrency" });
    for (const a of first) if (a.admitted) (a.release(), a.release());
    expect(throttle.inFlight).toBe(0);
    for (let i = 0; i < 15; i++) {
      const a = throttle.tryEnter();
      if (a.admitted) a.release();
    }
    expect(throttle.tryEnter()).toEqual({ admitted: false, reason: "rate" });
    clock.advance(1000);
    expect(throttle.tryEnter().admitted).toBe(true);
  });
});
