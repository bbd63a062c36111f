import type { AzureIdentityBinding, PodView } from "../model/types.js";
import { podBindingLabel } from "./pod-binding-label.js";

/**
 * True when the binding selects the pod: the pod's `aadpodidbinding` label equals `spec.selector` exactly
 * (case-sensitive, no trimming) and is not empty. `selector` is a plain string, not a label selector (request
 * #237 for real selectors never shipped in the original). Namespaces are NOT compared here: by default a
 * binding matches pods in every namespace (docs/compatibility.md#azureidentitybinding-fields); namespaced
 * matching is decided per identity by `isNamespacedIdentity`.
 */
export function bindingMatchesPod(binding: AzureIdentityBinding, pod: PodView): boolean {
  const label = podBindingLabel(pod);
  return label !== "" && label === binding.spec.selector;
}
