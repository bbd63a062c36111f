import { BINDING_LABEL } from "../model/constants.js";
import type { PodView } from "../model/types.js";

/**
 * The pod's `aadpodidbinding` label value exactly as written (no trimming, no case folding), or `""`
 * when the label is absent. An empty value matches no binding, as in the original, which skips pods
 * whose label value is empty before looking at bindings.
 */
export function podBindingLabel(pod: PodView): string {
  const labels = pod.metadata.labels;
  // Own-property check so a label map that happens to be a plain object never yields a prototype member.
  return Object.hasOwn(labels, BINDING_LABEL) ? (labels[BINDING_LABEL] ?? "") : "";
}
