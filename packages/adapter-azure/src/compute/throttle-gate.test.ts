import fc from "fast-check";
import type { ComputeTarget } from "@podid/core";
import { describe, expect, it } from "vitest";
import { ArmThrottleGate } from "./throttle-gate.js";

const target = (sub: string, name: string, kind: "vm" | "vmss" = "vmss"): ComputeTarget => ({ kind, subscriptionId: sub, resourceGroup: "rg", name });

describe("ArmThrottleGate", () => {
  it("closes per target and operation class, per subscription when ARM says so, and reopens on time", () => {
    let now = 0;
    const gate = new ArmThrottleGate(() => now);
    const a = target("s1", "a");
    const b = target("s1", "b");
    const c = target("s2", "c");
    gate.record(a, "write", { kind: "throttled", retryAfterMs: 10_000, scope: "target", message: "" });
    expect(gate.closedFor(a, "write")).toEqual({ opensAtMs: 10_000, retryAfterMs: 10_000, scope: "target" });
    expect(gate.closedFor(a, "read")).toBeUndefined(); // reads and writes are throttled separately
    expect(gate.closedFor(b, "write")).toBeUndefined(); // one throttled scale set does not stall the others
    gate.record(b, "read", { kind: "throttled", retryAfterMs: 5_000, scope: "subscription", message: "" });
    expect(gate.closedFor(a, "read")).toMatchObject({ retryAfterMs: 5_000, scope: "subscription" });
    expect(gate.closedFor(c, "read")).toBeUndefined();
    now = 4_000;
    expect(gate.closedFor(a, "write")?.retryAfterMs).toBe(6_000);
    now = 10_000;
    expect(gate.closedFor(a, "write")).toBeUndefined();
    gate.record(a, "read", { kind: "conflict", message: "" });
    expect(gate.closedFor(a, "read")).toBeUndefined();
  });

  it("a gate never reopens early: it waits for the longest Retry-After recorded", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 1_000 }), fc.nat({ max: 60_000 })), { minLength: 1, maxLength: 20 }), (events) => {
        let now = 0;
        const gate = new ArmThrottleGate(() => now);
        const t = target("s", "x");
        let until = 0;
        for (const [advance, retryAfterMs] of events) {
          now += advance;
          gate.record(t, "write", { kind: "throttled", retryAfterMs, scope: "target", message: "" });
          until = Math.max(until, now + retryAfterMs);
          const closed = gate.closedFor(t, "write");
          expect(closed === undefined ? now : closed.opensAtMs).toBe(until > now ? until : now);
        }
      }),
      { numRuns: 100 },
    );
  });
});
