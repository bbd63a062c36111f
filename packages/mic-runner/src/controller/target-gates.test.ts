import fc from "fast-check";
import { err, ok, type ComputeError, type ComputePort, type ComputeTarget } from "@podid/core";
import { describe, expect, it } from "vitest";
import { TargetGates } from "./target-gates.js";

const target = (sub: string, name: string, kind: "vm" | "vmss" = "vmss"): ComputeTarget => ({ kind, subscriptionId: sub, resourceGroup: "rg", name });
const throttled = (retryAfterMs: number, scope: "target" | "subscription" = "target"): ComputeError => ({ kind: "throttled", retryAfterMs, scope, message: "" });

/** A ComputePort that answers every call with `answer` and counts the calls that reached it. */
function armAnswering(answer: () => ComputeError | undefined) {
  let calls = 0;
  const port: ComputePort = {
    getIdentities: async () => {
      calls += 1;
      const error = answer();
      return error === undefined ? ok({ type: "None", userAssignedIdentityIds: [] }) : err(error);
    },
    patchIdentities: async () => {
      calls += 1;
      const error = answer();
      return error === undefined ? ok({ type: "UserAssigned", userAssignedIdentityIds: [] }) : err(error);
    },
  };
  return { port, calls: () => calls };
}

describe("TargetGates", () => {
  // Moved from adapter-azure's ArmThrottleGate, which honoured Retry-After a second time inside the adapter.
  it("closes per target and operation class, per subscription when ARM says so, and reopens on time", () => {
    let now = 0;
    const gate = new TargetGates(() => now);
    const a = target("s1", "a");
    const b = target("s1", "b");
    const c = target("s2", "c");
    gate.record(a, "write", throttled(10_000));
    expect(gate.closedFor(a, "write")).toEqual({ opensAtMs: 10_000, retryAfterMs: 10_000, scope: "target" });
    expect(gate.closedFor(a, "read")).toBeUndefined(); // reads and writes are throttled separately
    expect(gate.closedFor(b, "write")).toBeUndefined(); // one throttled scale set does not stall the others
    gate.record(b, "read", throttled(5_000, "subscription"));
    expect(gate.closedFor(a, "read")).toMatchObject({ retryAfterMs: 5_000, scope: "subscription" });
    expect(gate.closedFor(c, "read")).toBeUndefined();
    now = 4_000;
    expect(gate.closedFor(a, "write")?.retryAfterMs).toBe(6_000);
    now = 10_000;
    expect(gate.closedFor(a, "write")).toBeUndefined();
    gate.record(a, "read", { kind: "conflict", message: "" });
    expect(gate.closedFor(a, "read")).toBeUndefined();
    // A timed-out operation (transient) closes no gate either: the next pass may try again at once.
    gate.record(a, "write", { kind: "transient", message: "operation timed out" });
    expect(gate.opensAt(a)).toBeUndefined();
  });

  it("a gate never reopens early: it waits for the longest Retry-After recorded", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 1_000 }), fc.nat({ max: 60_000 })), { minLength: 1, maxLength: 20 }), (events) => {
        let now = 0;
        const gate = new TargetGates(() => now);
        const t = target("s", "x");
        let until = 0;
        for (const [advance, retryAfterMs] of events) {
          now += advance;
          gate.record(t, "write", throttled(retryAfterMs));
          until = Math.max(until, now + retryAfterMs);
          const closed = gate.closedFor(t, "write");
          expect(closed === undefined ? now : closed.opensAtMs).toBe(until > now ? until : now);
        }
      }),
      { numRuns: 100 },
    );
  });

  // Moved from the adapter's "429 storm" test: the gate answers with the remaining time, counting down.
  it("after one 429 it reports the remaining Retry-After, shrinking until the gate opens", () => {
    let now = 0;
    const gate = new TargetGates(() => now);
    const t = target("s", "pool-vmss");
    gate.record(t, "read", throttled(30_000));
    const waits: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      waits.push(gate.closedFor(t, "read")?.retryAfterMs ?? -1);
      now += 500;
    }
    expect(waits[0]).toBe(30_000);
    expect(waits.every((w, i) => w > 0 && w <= 30_000 && (i === 0 || w <= (waits[i - 1] ?? 0)))).toBe(true);
    now = 30_000;
    expect(gate.opensAt(t)).toBeUndefined();
  });

  it("the recording port closes the gate of the call class ARM throttled and refuses nothing itself", async () => {
    let now = 0;
    const gate = new TargetGates(() => now);
    const vmss = target("s1", "pool-vmss");
    let answer: ComputeError | undefined = throttled(9_000);
    const arm = armAnswering(() => answer);
    const port = gate.recording(arm.port);
    // A 429 on a PATCH (or on its operation's final GET, which the adapter reports as the PATCH's) is a write throttle.
    expect(await port.patchIdentities(vmss, { identity: { type: "UserAssigned" } })).toMatchObject({ ok: false, error: { kind: "throttled", retryAfterMs: 9_000 } });
    expect(gate.closedFor(vmss, "write")?.retryAfterMs).toBeGreaterThan(8_000);
    expect(gate.closedFor(vmss, "read")).toBeUndefined();
    expect(gate.opensAt(vmss, ["read"])).toBeUndefined();
    expect(gate.opensAt(vmss)).toBe(9_000);
    // Deciding not to call is the controller's: the port passes every call through.
    answer = undefined;
    expect(await port.patchIdentities(vmss, { identity: { type: "UserAssigned" } })).toMatchObject({ ok: true });
    expect(arm.calls()).toBe(2);
    now = 9_000;
    expect(gate.opensAt(vmss)).toBeUndefined();
  });

  // Moved from the adapter's "closes the whole subscription" test.
  it("a subscription-wide 429 holds every VM/VMSS of that subscription, and only that subscription", async () => {
    const gate = new TargetGates(() => 0);
    const arm = armAnswering(() => throttled(20_000, "subscription"));
    const port = gate.recording(arm.port);
    const vmss = target("s1", "pool-vmss");
    expect(await port.getIdentities(vmss)).toMatchObject({ ok: false, error: { kind: "throttled", scope: "subscription", retryAfterMs: 20_000 } });
    expect(gate.closedFor(target("s1", "other-vmss"), "read")).toMatchObject({ scope: "subscription", retryAfterMs: 20_000 });
    expect(gate.opensAt(target("S1", "vm-0", "vm"))).toBe(20_000);
    expect(gate.opensAt(target("s2", "elsewhere"))).toBeUndefined();
  });

  it("holds a failing VM/VMSS with a doubling backoff up to the cap, and starts over after a success", () => {
    let now = 0;
    const gate = new TargetGates(() => now, { initialMs: 1_000, maxMs: 5_000 });
    const t = target("s", "x");
    const other = target("s", "y");
    expect([gate.failed(t), gate.failed(t), gate.failed(t), gate.failed(t)]).toEqual([1_000, 2_000, 4_000, 5_000]);
    expect(gate.closedFor(t, "read")?.opensAtMs).toBe(5_000);
    expect(gate.closedFor(t, "write")?.opensAtMs).toBe(5_000);
    expect(gate.opensAt(other)).toBeUndefined();
    now = 5_000;
    gate.succeeded(t);
    expect(gate.failed(t)).toBe(6_000);
  });
});
