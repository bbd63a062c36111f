import type { AssignedIdentityWireStatus } from "../model/types.js";

/**
 * The AzureAssignedIdentity lifecycle as a pure transition function. States are the wire statuses plus
 * `Absent` (no object yet) and `Deleted` (gone). MIC's crash-safe order follows from it: the object is
 * `Created` before any ARM PATCH and `Assigned` only after ARM confirmed the attachment, so a restart at
 * any point finds enough in the API server to finish the job.
 */
export type LifecycleState = "Absent" | "Created" | "Assigned" | "Unassigned" | "Deleted";

/** Something that happened to one (pod, identity) pair. */
export type LifecycleEvent =
  /** Matching says the pair should exist. */
  | { readonly type: "desired" }
  /** ARM confirmed the identity is on the VM/VMSS (PATCH succeeded, or a read shows it attached). */
  | { readonly type: "attachConfirmed" }
  /** The attach PATCH failed or left this identity out (quarantined, throttled, …). */
  | { readonly type: "attachFailed"; readonly quarantined: boolean }
  /** Pod, binding or identity is gone (or changed so this pair no longer exists). */
  | { readonly type: "released" }
  /** The detach PATCH succeeded, or no detach is needed (in use elsewhere, immutable, not type 0, never attached). */
  | { readonly type: "detachConfirmed" }
  /** The detach PATCH failed; the identity may still be on the VM/VMSS. */
  | { readonly type: "detachFailed" }
  /** The pod's node no longer exists: nothing to detach, the object just goes. */
  | { readonly type: "nodeGone" }
  /** After a restart or failover: what a read of the VM/VMSS shows for this identity. */
  | { readonly type: "recovered"; readonly attached: boolean };

/** Writes and signals a transition asks for, in order. */
export type LifecycleAction =
  | "createAsCreated"
  | "markCreated"
  | "markAssigned"
  | "markUnassigned"
  | "deleteObject"
  | "requestAttach"
  | "requestDetach"
  | "eventApplyError"
  | "eventApplied"
  | "eventRemoved"
  | "eventRemoveError";

/** The result of one transition. */
export interface LifecycleTransition {
  readonly state: LifecycleState;
  readonly actions: readonly LifecycleAction[];
}

/** A transition that makes no sense in the current state (a caller bug, reported, never thrown). */
export interface IllegalTransition {
  readonly kind: "illegalTransition";
  readonly from: LifecycleState;
  readonly event: LifecycleEvent["type"];
}

/** The lifecycle state of an object as stored; `""` (pre-1.5 MIC) counts as Assigned, as in the original. */
export function lifecycleStateOf(status: AssignedIdentityWireStatus | undefined): LifecycleState {
  if (status === undefined) return "Absent";
  return status === "" ? "Assigned" : status;
}

const stay = (state: LifecycleState, ...actions: LifecycleAction[]): LifecycleTransition => ({ state, actions });

/**
 * Applies `event` to `state`. Invariants (checked by the model-based tests):
 * - `Assigned` is only reached through `attachConfirmed` or a recovery read that shows the identity attached;
 * - a detach is only ever requested for an `Assigned` object, never for `Created` (podid cannot prove it
 *   attached the identity, and someone else may have: #898);
 * - an `Assigned` object whose re-attach failed goes back to `Created`: it never keeps claiming an identity
 *   ARM is known not to hold;
 * - `Unassigned` is only reached from `Assigned`, after the detach was confirmed or found unnecessary (an
 *   object that never got past `Created` is deleted directly, saving the status write);
 * - `Deleted` is terminal.
 */
export function transition(
  state: LifecycleState,
  event: LifecycleEvent,
): { ok: true; value: LifecycleTransition } | { ok: false; error: IllegalTransition } {
  const next = step(state, event);
  return next === undefined
    ? { ok: false, error: { kind: "illegalTransition", from: state, event: event.type } }
    : { ok: true, value: next };
}

function step(state: LifecycleState, event: LifecycleEvent): LifecycleTransition | undefined {
  switch (state) {
    case "Absent":
      if (event.type === "desired") return stay("Created", "createAsCreated", "requestAttach");
      if (event.type === "released" || event.type === "nodeGone") return stay("Absent");
      return undefined;
    case "Created":
      switch (event.type) {
        case "desired":
          return stay("Created", "requestAttach");
        case "attachConfirmed":
          return stay("Assigned", "markAssigned", "eventApplied");
        case "attachFailed":
          return stay("Created", "eventApplyError");
        case "recovered":
          return event.attached ? stay("Assigned", "markAssigned", "eventApplied") : stay("Created", "requestAttach");
        case "released":
        case "detachConfirmed":
          // Never confirmed on the VM/VMSS, so nothing of ours to detach: delete straight away.
          return stay("Deleted", "deleteObject", "eventRemoved");
        case "nodeGone":
          return stay("Deleted", "deleteObject", "eventRemoved");
        case "detachFailed":
          return undefined;
      }
      return undefined;
    case "Assigned":
      switch (event.type) {
        case "desired":
        case "attachConfirmed":
          return stay("Assigned");
        case "attachFailed":
          // A re-attach after out-of-band removal failed: the identity is known to be missing, so the object
          // must stop claiming it (NMI would hand the pod IMDS's "identity not found"). Back to `Created`,
          // where NMI waits and the planner retries, holding it back while it is quarantined.
          return stay("Created", "markCreated", "eventApplyError");
        case "recovered":
          // Drift: removed out of band while still wanted — attach again (the original's 3-minute repair).
          return event.attached ? stay("Assigned") : stay("Assigned", "requestAttach");
        case "released":
          return stay("Assigned", "requestDetach");
        case "detachConfirmed":
          return stay("Deleted", "markUnassigned", "deleteObject", "eventRemoved");
        case "detachFailed":
          return stay("Assigned", "eventRemoveError");
        case "nodeGone":
          return stay("Deleted", "deleteObject", "eventRemoved");
      }
      return undefined;
    case "Unassigned":
      // The identity is already off the VM/VMSS; only the object is left to delete (restart mid-removal).
      switch (event.type) {
        case "released":
        case "detachConfirmed":
        case "nodeGone":
        case "recovered":
          return stay("Deleted", "deleteObject", "eventRemoved");
        case "desired":
          // Wanted again while being removed: finish the removal; the next plan creates it afresh.
          return stay("Deleted", "deleteObject");
        default:
          return undefined;
      }
    case "Deleted":
      return event.type === "desired" ? stay("Created", "createAsCreated", "requestAttach") : stay("Deleted");
  }
}
