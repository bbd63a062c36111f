import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ComputeTarget } from "../azure-ids/types.js";
import { closeGate, gateOpensAt, OPEN_GATES, pruneGates } from "./throttle-gates.js";

const target = (subscriptionId: string, name: string): ComputeTarget => ({ kind: "vmss", subscriptionId, resourceGroup: "rg", name });

describe("throttle gates", () => {
  it("a target gate holds only that target; a subscription gate holds every target of the subscription", () => {
    const a = target("S1", "a");
    const b = target("s1", "b");
    const c = target("s2", "c");
    let gates = closeGate(OPEN_GATES, a, "a", "target", 100);
    expect(gateOpensAt(gates, a, "a", 0)).toBe(100);
    expect(gateOpensAt(gates, b, "b", 0)).toBeUndefined();
    gates = closeGate(gates, b, "b", "subscription", 50);
    expect(gateOpensAt(gates, a, "a", 0)).toBe(100);
    expect(gateOpensAt(gates, b, "b", 0)).toBe(50);
    expect(gateOpensAt(gates, c, "c", 0)).toBeUndefined();
    expect(gateOpensAt(gates, b, "b", 50)).toBeUndefined();
  });

  it("never shortens a gate, and pruning changes no answer", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ t: fc.constantFrom("a", "b"), until: fc.nat(1000), sub: fc.boolean() }), { maxLength: 20 }), fc.nat(1000), (closes, now) => {
        let gates = OPEN_GATES;
        const latest = new Map<string, number>();
        for (const { t, until, sub } of closes) {
          gates = closeGate(gates, target("s", t), t, sub ? "subscription" : "target", until);
          const key = sub ? "sub" : t;
          latest.set(key, Math.max(latest.get(key) ?? 0, until));
        }
        for (const t of ["a", "b"]) {
          const expected = Math.max(latest.get(t) ?? 0, latest.get("sub") ?? 0);
          expect(gateOpensAt(gates, target("s", t), t, now)).toBe(expected > now ? expected : undefined);
          expect(gateOpensAt(pruneGates(gates, now), target("s", t), t, now)).toBe(gateOpensAt(gates, target("s", t), t, now));
        }
      }),
    );
  });
});
