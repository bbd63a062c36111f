import { BINDING_LABEL } from "../model/constants.js";
import type { PodView } from "../model/types.js";

/**
 * True when a pod change can change its identity assignments: created or deleted, its `aadpodidbinding`
 * label or node changed, it finished (Succeeded/Failed), or deletion started. Other updates (status
 * conditions, IPs, annotations) cannot, so MIC does not re-plan for them (the original's PR #682 rule,
 * extended to phase and deletion).
 */
export function isAssignmentRelevantPodChange(previous: PodView | undefined, next: PodView | undefined): boolean {
  if (previous === undefined || next === undefined) return previous !== next;
  const finished = (pod: PodView) => pod.phase === "Succeeded" || pod.phase === "Failed";
  return (
    previous.metadata.labels[BINDING_LABEL] !== next.metadata.labels[BINDING_LABEL] ||
    previous.nodeName !== next.nodeName ||
    finished(previous) !== finished(next) ||
    (previous.metadata.deletionTimestamp === undefined) !== (next.metadata.deletionTimestamp === undefined) ||
    previous.metadata.uid !== next.metadata.uid
  );
}
