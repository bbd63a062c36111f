import type { ComputeIdentityState } from "../azure-ids/types.js";
import { lifecycleStateOf } from "../lifecycle/assigned-identity-lifecycle.js";
import type { DesiredAssignment } from "../matching/types.js";
import type { AzureAssignedIdentity, NodeView } from "../model/types.js";
import { compareAssignment, managedIdentityKey } from "./assignment-comparison.js";
import { nodeResolver, onSameTarget, type NodeResolver } from "./node-targets.js";

/**
 * Crash recovery for objects that leave while still `Created`.
 *
 * MIC writes an AzureAssignedIdentity `Created` before the PATCH that attaches its identity and `Assigned`
 * after it. A leader that dies (or is deposed) in between leaves `Created` objects whose PATCH may have
 * landed — or may still be running in ARM, which keeps an operation going after its caller is gone. If the
 * pod (binding, identity) goes before the next leader confirms the object, the planner would delete the
 * object without a detach (a `Created` object was never confirmed on the VM/VMSS), and the identity would
 * stay attached with nothing recording it: forgotten for good, since MIC never touches identities no object
 * names (the original had the same hole, step 6 of docs/compatibility.md#reconcile-cycle-steps). This rule
 * closes it before planning:
 *
 * - the identity is **observed attached** → the object is treated as `Assigned` (the lifecycle's
 *   `recovered(attached)` transition, which a still-desired object gets as a confirmation), so the planner
 *   detaches it under the usual rules (not in use on the VM/VMSS, not immutable, not the cluster identity);
 * - the VM/VMSS is **not observed** yet, or an **operation is in progress** on it (`provisioningState`
 *   `Updating`/`Creating`: possibly the dead leader's PATCH) → the object is kept out of this pass and
 *   reported as waiting, so it is neither deleted nor detached until a read shows the settled truth;
 * - otherwise (settled, not attached) → unchanged: the planner deletes it without an ARM call.
 *
 * Only type-0 identities on resolvable nodes are concerned; objects on vanished nodes, service
 * principals and objects that are still desired pass through untouched.
 */

/** Input of {@link recoverLeavingCreated}: what the planner is about to get. */
export interface LeavingRecoveryInput {
  readonly desired: readonly DesiredAssignment[];
  readonly current: readonly AzureAssignedIdentity[];
  readonly nodes: readonly NodeView[];
  /** Identity blocks read from ARM, by compute target key. */
  readonly observed: ReadonlyMap<string, ComputeIdentityState>;
}

/** A leaving `Created` object whose fate needs a (fresh) read of its VM/VMSS first. */
export interface WaitingLeavingObject {
  readonly object: AzureAssignedIdentity;
  readonly targetKey: string;
  readonly reason: "notObserved" | "operationInProgress";
}

/** Output of {@link recoverLeavingCreated}. */
export interface LeavingRecovery {
  /** The objects to plan with: observed-attached leaving `Created` ones as `Assigned`, waiting ones left out. */
  readonly current: readonly AzureAssignedIdentity[];
  /** Objects left out of this pass until their VM/VMSS is read settled; sorted by target, namespace, name. */
  readonly waiting: readonly WaitingLeavingObject[];
}

/** `provisioningState` values ARM reports while an operation runs on the VM/VMSS. */
const IN_PROGRESS = new Set(["updating", "creating"]);

/** True when `state` says an operation is still running (its identity block may change when it ends). */
export function isOperationInProgress(state: ComputeIdentityState): boolean {
  return state.provisioningState !== undefined && IN_PROGRESS.has(state.provisioningState.toLowerCase());
}

/** Applies the rule described in the module comment. Pure; `current` order is kept. */
export function recoverLeavingCreated(input: LeavingRecoveryInput): LeavingRecovery {
  const desiredByName = new Map(input.desired.map((d) => [`${d.namespace}/${d.name}`, d]));
  const resolve = nodeResolver(input.nodes);
  const current: AzureAssignedIdentity[] = [];
  const waiting: WaitingLeavingObject[] = [];
  for (const object of input.current) {
    const key = managedIdentityKey(object.spec.azureIdentityRef);
    const placement = resolve(object.spec.nodeName);
    if (lifecycleStateOf(object.status) !== "Created" || key === undefined || !("key" in placement) || !isLeaving(object, desiredByName, resolve)) {
      current.push(object);
      continue;
    }
    const targetKey = placement.key;
    const state = input.observed.get(targetKey);
    if (state === undefined) {
      waiting.push({ object, targetKey, reason: "notObserved" });
      continue;
    }
    const attached = state.userAssignedIdentityIds.some((id) => id.toLowerCase() === key);
    if (attached) {
      current.push({ ...object, status: "Assigned" });
      continue;
    }
    if (isOperationInProgress(state)) {
      waiting.push({ object, targetKey, reason: "operationInProgress" });
      continue;
    }
    current.push(object);
  }
  waiting.sort(
    (a, b) =>
      compare(a.targetKey, b.targetKey) ||
      compare(a.object.metadata.namespace, b.object.metadata.namespace) ||
      compare(a.object.metadata.name, b.object.metadata.name),
  );
  return { current, waiting };
}

function isLeaving(object: AzureAssignedIdentity, desiredByName: ReadonlyMap<string, DesiredAssignment>, resolve: NodeResolver): boolean {
  if (object.metadata.deletionTimestamp !== undefined) return true;
  const desired = desiredByName.get(`${object.metadata.namespace}/${object.metadata.name}`);
  return desired === undefined || compareAssignment(object, desired, (a, b) => onSameTarget(resolve, a, b)) === "replace";
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
