import { describe, expect, it } from "vitest";
import type { KubeError } from "../ports/kube-errors.js";
import type { LeaseRecord } from "../ports/lease-store.port.js";
import { defaultLeaderElectionConfig } from "./config.js";
import type { ElectionStep, ElectorState, LeaseObservation } from "./elector.js";
import { checkLeadership, createElector, isLeader, leaseWriteFailed, leaseWriteSucceeded, observeLease, releaseLease } from "./elector.js";

const T0 = 1_700_000_000_000;
const config = defaultLeaderElectionConfig("mic-a"); // 15 s / 7.5 s / 3.75 s
const transient: KubeError = { kind: "transient", message: "timeout" };
const conflict: KubeError = { kind: "conflict", alreadyExists: false, message: "the object has been modified" };

function other(renewTime: number, extra: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    holderIdentity: "mic-b",
    leaseDurationSeconds: 15,
    acquireTime: T0 - 60_000,
    renewTime,
    leaseTransitions: 3,
    resourceVersion: "7",
    ...extra,
  };
}

/** Performs the write an action asks for, as a store would, and feeds the success back. */
function commit(step: ElectionStep, now: number, resourceVersion = "8"): ElectionStep {
  const a = step.action;
  if (a.kind !== "create" && a.kind !== "acquire" && a.kind !== "renew" && a.kind !== "release") throw new Error(`no write: ${a.kind}`);
  return leaseWriteSucceeded(step.state, a.writeId, { ...a.record, resourceVersion }, now);
}

/** The record `lead(T0)` leaves in the store. */
function heldByA(): LeaseRecord {
  return { holderIdentity: "mic-a", leaseDurationSeconds: 15, acquireTime: T0, renewTime: T0, leaseTransitions: 0, resourceVersion: "8" };
}

function lead(now: number): ElectorState {
  return commit(observeLease(createElector(config), { kind: "absent" }, now), now).state;
}

describe("lease elector: documented cases", () => {
  it("creates a missing lease and leads at once", () => {
    const step = observeLease(createElector(config), { kind: "absent" }, T0);
    expect(step.action).toEqual({
      kind: "create",
      writeId: 1,
      record: { holderIdentity: "mic-a", leaseDurationSeconds: 15, acquireTime: T0, renewTime: T0, leaseTransitions: 0 },
    });
    expect(isLeader(step.state, T0)).toBe(false); // not before the write succeeds
    const done = commit(step, T0 + 5);
    expect(done.transition).toBe("elected");
    expect(isLeader(done.state, T0 + 5)).toBe(true);
    expect(done.action).toEqual({ kind: "wait", retryAtMs: T0 + 3_750 });
  });

  it("stands by while another holder's lease is valid and acquires once renewTime + leaseDuration has passed", () => {
    const f = createElector(config);
    expect(observeLease(f, { kind: "present", record: other(T0) }, T0 + 15_000).action).toEqual({
      kind: "standby",
      holderIdentity: "mic-b",
      retryAtMs: T0 + 18_750,
    });
    const take = observeLease(f, { kind: "present", record: other(T0) }, T0 + 15_001);
    expect(take.action).toEqual({
      kind: "acquire",
      writeId: 1,
      record: {
        holderIdentity: "mic-a",
        leaseDurationSeconds: 15,
        acquireTime: T0 + 15_001,
        renewTime: T0 + 15_001,
        leaseTransitions: 4,
        resourceVersion: "7",
      },
    });
  });

  it("honours a holder that advertises a longer lease than ours", () => {
    const step = observeLease(createElector(config), { kind: "present", record: other(T0, { leaseDurationSeconds: 60 }) }, T0 + 30_000);
    expect(step.action.kind).toBe("standby");
  });

  it("acquires a released lease (empty holder) at once", () => {
    const step = observeLease(createElector(config), { kind: "present", record: other(T0, { holderIdentity: "" }) }, T0 + 1);
    expect(step.action.kind).toBe("acquire");
  });

  it("renews keeping acquireTime and leaseTransitions, extending leadership to renewTime + renewDeadline", () => {
    const s = lead(T0);
    const held = heldByA();
    const renew = observeLease(s, { kind: "present", record: held }, T0 + 3_750);
    expect(renew.action).toEqual({ kind: "renew", writeId: 2, record: { ...held, renewTime: T0 + 3_750 } });
    const done = commit(renew, T0 + 3_800, "9");
    expect(done.transition).toBeUndefined();
    expect(done.state.leaderUntilMs).toBe(T0 + 3_750 + 7_500);
  });

  it("stops leading exactly at the renew deadline when renewals fail, well before a follower may acquire", () => {
    let s = lead(T0);
    const renew = observeLease(s, { kind: "error", error: transient }, T0 + 3_750);
    expect(renew.action).toEqual({ kind: "retry", error: transient, retryAtMs: T0 + 7_500 });
    s = renew.state;
    expect(isLeader(s, T0 + 7_499)).toBe(true);
    expect(isLeader(s, T0 + 7_500)).toBe(false);
    expect(checkLeadership(s, T0 + 7_499).transition).toBeUndefined();
    expect(checkLeadership(s, T0 + 7_500).transition).toBe("lost");
    // The safety margin: a follower can take over only after T0 + 15 s.
    const follower = createElector({ ...config, identity: "mic-b" });
    const seen: LeaseObservation = { kind: "present", record: heldByA() };
    expect(observeLease(follower, seen, T0 + 15_000).action.kind).toBe("standby");
    expect(observeLease(follower, seen, T0 + 15_001).action.kind).toBe("acquire");
  });

  it("keeps leading through a transient write failure, but a conflict ends leadership at once", () => {
    const s = lead(T0);
    const held = heldByA();
    const renew = observeLease(s, { kind: "present", record: held }, T0 + 3_750);
    if (renew.action.kind !== "renew") throw new Error("expected renew");
    const failed = leaseWriteFailed(renew.state, renew.action.writeId, transient, T0 + 3_800);
    expect(failed.transition).toBeUndefined();
    expect(isLeader(failed.state, T0 + 3_800)).toBe(true);
    const lost = leaseWriteFailed(renew.state, renew.action.writeId, conflict, T0 + 3_800);
    expect(lost.transition).toBe("lost");
    expect(isLeader(lost.state, T0 + 3_800)).toBe(false);
  });

  it("reports a loss when a renewal's answer comes after the deadline, then regains the lease it still holds", () => {
    const s = lead(T0);
    const held = heldByA();
    const renew = observeLease(s, { kind: "present", record: held }, T0 + 3_750);
    const late = commit(renew, T0 + 8_000, "9");
    expect(late.transition).toBe("lost");
    expect(isLeader(late.state, T0 + 8_000)).toBe(false);
    expect(late.action).toEqual({ kind: "wait", retryAtMs: T0 + 8_000 });
    const stored: LeaseRecord = { ...held, renewTime: T0 + 3_750, resourceVersion: "9" };
    const again = commit(observeLease(late.state, { kind: "present", record: stored }, T0 + 8_000), T0 + 8_001);
    expect(again.transition).toBe("elected");
    expect(again.state.observed?.acquireTime).toBe(T0);
  });

  it("sees a valid lease of someone else as losing leadership", () => {
    const s = lead(T0);
    const step = observeLease(s, { kind: "present", record: other(T0 + 1_000) }, T0 + 3_750);
    expect(step.transition).toBe("lost");
    expect(isLeader(step.state, T0 + 3_750)).toBe(false);
  });

  it("ignores the result of a write that is no longer pending", () => {
    const first = observeLease(createElector(config), { kind: "absent" }, T0);
    const second = observeLease(first.state, { kind: "absent" }, T0 + 100);
    if (first.action.kind !== "create") throw new Error("expected create");
    const stale = leaseWriteSucceeded(second.state, first.action.writeId, { ...first.action.record, resourceVersion: "1" }, T0 + 200);
    expect(isLeader(stale.state, T0 + 200)).toBe(false);
    expect(stale.state.pending).toEqual(second.state.pending);
  });

  it("releases on shutdown: stops leading at once and writes an empty holder", () => {
    const s = lead(T0);
    const released = releaseLease(s, T0 + 1_000);
    expect(released?.transition).toBe("lost");
    expect(released?.action).toEqual({
      kind: "release",
      writeId: 2,
      record: { ...heldByA(), holderIdentity: "", leaseDurationSeconds: 1, acquireTime: T0 + 1_000, renewTime: T0 + 1_000 },
    });
    expect(released && isLeader(released.state, T0 + 1_000)).toBe(false);
    expect(releaseLease(createElector(config), T0)).toBeUndefined();
  });
});
