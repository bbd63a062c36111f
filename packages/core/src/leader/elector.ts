import type { KubeError } from "../ports/kube-errors.js";
import type { LeaseRecord } from "../ports/lease-store.port.js";
import type { LeaderElectionConfig } from "./config.js";

/** What the driver read from the Lease store. */
export type LeaseObservation =
  | { readonly kind: "absent" }
  | { readonly kind: "present"; readonly record: LeaseRecord }
  | { readonly kind: "error"; readonly error: KubeError };

/** A write the elector is waiting on; results for any other write id are ignored. */
export interface PendingLeaseWrite {
  readonly writeId: number;
  readonly kind: "create" | "acquire" | "renew" | "release";
  /** The `renewTime` written: leadership is measured from it, never from when the answer arrived. */
  readonly renewTimeMs: number;
}

/** One candidate's election state, an immutable value. */
export interface ElectorState {
  readonly config: LeaderElectionConfig;
  readonly role: "follower" | "leader";
  /**
   * While `role` is `leader`, leadership holds only while `now < leaderUntilMs` = renewTime of the
   * last successful write + renewDeadline. Followers wait until renewTime + leaseDuration, so a
   * leader cut off from the API server stops `leaseDuration − renewDeadline` before anyone may take over.
   */
  readonly leaderUntilMs: number;
  /** The last record read or written, kept for diagnostics (holder, transitions). */
  readonly observed?: LeaseRecord;
  readonly pending?: PendingLeaseWrite;
  readonly nextWriteId: number;
}

/** What the driver should do next. */
export type ElectionAction =
  /** No Lease exists: create this one (a `conflict` means another candidate was first). */
  | { readonly kind: "create"; readonly writeId: number; readonly record: Omit<LeaseRecord, "resourceVersion"> }
  /** The Lease expired or was released: take it over with this update (optimistic on `resourceVersion`). */
  | { readonly kind: "acquire"; readonly writeId: number; readonly record: LeaseRecord }
  /** We hold the Lease: renew it with this update. */
  | { readonly kind: "renew"; readonly writeId: number; readonly record: LeaseRecord }
  /** Give the Lease up (empty holder) so a follower need not wait for it to expire. */
  | { readonly kind: "release"; readonly writeId: number; readonly record: LeaseRecord }
  /** Someone else holds a valid Lease: read again at `retryAtMs`. */
  | { readonly kind: "standby"; readonly holderIdentity: string; readonly retryAtMs: number }
  /** Reading failed: read again at `retryAtMs`. */
  | { readonly kind: "retry"; readonly error: KubeError; readonly retryAtMs: number }
  /** A write finished (or was ignored): read again at `retryAtMs`. */
  | { readonly kind: "wait"; readonly retryAtMs: number };

/** A leadership change caused by a step; the driver starts or stops its leader-only work on it. */
export type LeadershipTransition = "elected" | "lost";

/** The result of every elector step. */
export interface ElectionStep {
  readonly state: ElectorState;
  readonly action: ElectionAction;
  readonly transition?: LeadershipTransition;
}

/** A candidate that has not tried yet; its first attempt should happen at once. */
export function createElector(config: LeaderElectionConfig): ElectorState {
  return { config, role: "follower", leaderUntilMs: 0, nextWriteId: 1 };
}

/**
 * True while this candidate may act as leader. It turns false the moment the renew deadline passes
 * without a successful renewal, with no step needed, so leader-only work can check it before every
 * write (client-go's `OnStoppedLeading`; MIC exits on it).
 */
export function isLeader(state: ElectorState, nowMs: number): boolean {
  return state.role === "leader" && nowMs < state.leaderUntilMs;
}

/**
 * How long followers treat a record as valid after its `renewTime`: the longer of the holder's
 * advertised `leaseDurationSeconds` and our own lease duration, so candidates with different
 * settings never cut a holder short.
 */
export function effectiveLeaseDurationMs(record: LeaseRecord, config: LeaderElectionConfig): number {
  const advertised = Number.isFinite(record.leaseDurationSeconds) ? record.leaseDurationSeconds * 1000 : 0;
  return Math.max(advertised, config.leaseDurationMs);
}

/**
 * Decides the next move from what the driver just read (client-go `tryAcquireOrRenew`):
 * no Lease → `create`; held by us → `renew` (keeping `acquireTime` and `leaseTransitions`);
 * held by someone else whose `renewTime + leaseDuration` has passed, or released (empty holder) →
 * `acquire` (new `acquireTime`, `leaseTransitions + 1`); otherwise `standby`. Expiry is judged on
 * the record's `renewTime`, which assumes node clocks agree to well within
 * `leaseDuration − renewDeadline` (7.5 s by default). A leader whose deadline has passed is
 * reported `lost` first; one that finds someone else holding the Lease is `lost` at once.
 * Any write still pending is forgotten: its result will be ignored. As with client-go, deleting the
 * Lease by hand lets a follower create it while the leader still leads (up to renewDeadline).
 */
export function observeLease(state: ElectorState, observation: LeaseObservation, nowMs: number): ElectionStep {
  const { state: base, lost } = expireLeadership(withoutPending(state), nowMs);
  const { config } = base;
  const retryAtMs = nowMs + config.retryPeriodMs;
  if (observation.kind === "error") {
    return step(base, { kind: "retry", error: observation.error, retryAtMs }, lost);
  }
  const advertisedSeconds = Math.ceil(config.leaseDurationMs / 1000);
  if (observation.kind === "absent") {
    const record = {
      holderIdentity: config.identity,
      leaseDurationSeconds: advertisedSeconds,
      acquireTime: nowMs,
      renewTime: nowMs,
      leaseTransitions: 0,
    };
    return write(base, "create", nowMs, (writeId) => ({ kind: "create", writeId, record }), lost);
  }
  const current = observation.record;
  const observed = { ...base, observed: current };
  if (current.holderIdentity === config.identity) {
    const record: LeaseRecord = { ...current, leaseDurationSeconds: advertisedSeconds, renewTime: nowMs };
    return write(observed, "renew", nowMs, (writeId) => ({ kind: "renew", writeId, record }), lost);
  }
  const expired = current.holderIdentity === "" || current.renewTime + effectiveLeaseDurationMs(current, config) < nowMs;
  if (expired) {
    const record: LeaseRecord = {
      holderIdentity: config.identity,
      leaseDurationSeconds: advertisedSeconds,
      acquireTime: nowMs,
      renewTime: nowMs,
      leaseTransitions: current.leaseTransitions + 1,
      resourceVersion: current.resourceVersion,
    };
    return write(observed, "acquire", nowMs, (writeId) => ({ kind: "acquire", writeId, record }), lost);
  }
  // Someone else validly holds it. If we thought we led, we do not any more.
  const wasLeader = observed.role === "leader";
  return step({ ...observed, role: "follower" }, { kind: "standby", holderIdentity: current.holderIdentity, retryAtMs }, lost || wasLeader);
}

/**
 * The pending write succeeded and the store returned `written`. Leadership runs until the written
 * `renewTime + renewDeadline`. If our previous leadership ran out before this answer came, the step
 * reports `lost` and claims nothing (a driver must see every loss: MIC exits on it); we still hold
 * the Lease and the next attempt, due at once, renews it and reports `elected`. The same holds for
 * an answer that arrives after its own deadline. A result for a write that is no longer pending
 * changes nothing.
 */
export function leaseWriteSucceeded(state: ElectorState, writeId: number, written: LeaseRecord, nowMs: number): ElectionStep {
  const pending = state.pending;
  if (pending === undefined || pending.writeId !== writeId) return ignored(state, nowMs);
  const { state: base, lost } = expireLeadership(withoutPending(state), nowMs);
  const recorded: ElectorState = { ...base, observed: written };
  const nextAtMs = Math.max(nowMs, pending.renewTimeMs + base.config.retryPeriodMs);
  if (pending.kind === "release" || written.holderIdentity !== base.config.identity) {
    return step({ ...recorded, role: "follower" }, { kind: "wait", retryAtMs: nextAtMs }, lost);
  }
  const leaderUntilMs = pending.renewTimeMs + base.config.renewDeadlineMs;
  if (lost || nowMs >= leaderUntilMs) {
    return step({ ...recorded, role: "follower" }, { kind: "wait", retryAtMs: nowMs }, lost);
  }
  const next: ElectorState = { ...recorded, role: "leader", leaderUntilMs };
  return step(next, { kind: "wait", retryAtMs: nextAtMs }, false, base.role === "leader" ? undefined : "elected");
}

/**
 * The pending write failed. A `conflict` means someone else changed the Lease since we read it: we
 * are not leader, at once. Other errors leave an existing leadership to run out at its deadline;
 * the next attempt comes after the retry period.
 */
export function leaseWriteFailed(state: ElectorState, writeId: number, error: KubeError, nowMs: number): ElectionStep {
  const pending = state.pending;
  if (pending === undefined || pending.writeId !== writeId) return ignored(state, nowMs);
  const { state: base, lost } = expireLeadership(withoutPending(state), nowMs);
  const retry: ElectionAction = { kind: "wait", retryAtMs: nowMs + base.config.retryPeriodMs };
  if (error.kind === "conflict" || pending.kind === "release") {
    return step({ ...base, role: "follower" }, retry, lost || base.role === "leader");
  }
  return step(base, retry, lost);
}

/**
 * Reports `lost` once the renew deadline has passed; the driver calls it from a timer set at
 * `leaderUntilMs`, so leader-only work stops even while a read or write hangs.
 */
export function checkLeadership(state: ElectorState, nowMs: number): { readonly state: ElectorState; readonly transition?: "lost" } {
  const { state: next, lost } = expireLeadership(state, nowMs);
  return lost ? { state: next, transition: "lost" } : { state: next };
}

/**
 * Gives up leadership on shutdown, as client-go's `ReleaseOnCancel`: we stop leading now, and the
 * returned `release` write (empty holder, 1 s duration, same resourceVersion) lets a follower
 * acquire on its next attempt instead of waiting out the lease. `undefined` when not leading.
 */
export function releaseLease(state: ElectorState, nowMs: number): ElectionStep | undefined {
  if (!isLeader(state, nowMs) || state.observed === undefined) return undefined;
  const record: LeaseRecord = { ...state.observed, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: nowMs, renewTime: nowMs };
  const follower: ElectorState = { ...state, role: "follower", leaderUntilMs: 0 };
  return write(follower, "release", nowMs, (writeId) => ({ kind: "release", writeId, record }), true);
}

function write(
  state: ElectorState,
  kind: PendingLeaseWrite["kind"],
  nowMs: number,
  action: (writeId: number) => ElectionAction,
  lost: boolean,
): ElectionStep {
  const writeId = state.nextWriteId;
  const next: ElectorState = { ...state, pending: { writeId, kind, renewTimeMs: nowMs }, nextWriteId: writeId + 1 };
  return step(next, action(writeId), lost);
}

function step(state: ElectorState, action: ElectionAction, lost: boolean, elected?: "elected" | undefined): ElectionStep {
  if (elected !== undefined) return { state, action, transition: elected };
  return lost ? { state, action, transition: "lost" } : { state, action };
}

function ignored(state: ElectorState, nowMs: number): ElectionStep {
  const { state: next, lost } = expireLeadership(state, nowMs);
  const retryAtMs = nowMs + state.config.retryPeriodMs;
  return step(next, { kind: "wait", retryAtMs }, lost);
}

function withoutPending(state: ElectorState): ElectorState {
  if (state.pending === undefined) return state;
  const { pending: _dropped, ...rest } = state;
  return rest;
}

/** Turns an expired leadership into followership, reporting whether that happened now. */
function expireLeadership(state: ElectorState, nowMs: number): { state: ElectorState; lost: boolean } {
  if (state.role === "leader" && nowMs >= state.leaderUntilMs) return { state: { ...state, role: "follower" }, lost: true };
  return { state, lost: false };
}
