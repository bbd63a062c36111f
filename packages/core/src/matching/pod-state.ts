import type { PodView } from "../model/types.js";

/**
 * True once the scheduler has put the pod on a node. An AzureAssignedIdentity names the node whose
 * VM/VMSS gets the identity, so an unscheduled pod cannot be assigned yet (the original skips it with
 * "has no assigned node yet" and retries on the pod update that sets `spec.nodeName`).
 */
export function isPodScheduled(pod: PodView): boolean {
  return pod.nodeName !== "";
}

/**
 * True when the pod has terminated for good (phase `Succeeded` or `Failed`): none of its containers
 * will run again, so it can never ask NMI for a token.
 *
 * Deliberate difference from the original, which lists pods of every phase and so keeps identities
 * (and the VM/VMSS assignment) of completed Job pods until the pod object is deleted. podid drops them
 * as soon as the pod terminates. A pod with a `deletionTimestamp` is NOT terminated by this rule: it
 * may still be running its shutdown (preStop hooks, graceful termination) and need tokens, so it keeps
 * its identities until it reaches a terminal phase or disappears. Phase `Unknown` (node lost contact)
 * is not terminal either: the pod may well be running.
 */
export function isPodTerminated(pod: PodView): boolean {
  return pod.phase === "Succeeded" || pod.phase === "Failed";
}
