import type { AzurePodIdentityException, PodView } from "../model/types.js";

/**
 * True when the pod is excepted from interception: any single label of any AzurePodIdentityException
 * in the pod's own namespace is present on the pod with a value equal ignoring case. It is an OR over
 * labels and exceptions, as in the original (`pkg/pod/pod.go`), not a label selector.
 */
export function isPodExcepted(pod: PodView, exceptions: readonly AzurePodIdentityException[]): boolean {
  return exceptions.some(
    (exception) =>
      exception.metadata.namespace === pod.metadata.namespace &&
      Object.entries(exception.spec.podLabels).some(([key, value]) => {
        // Own properties only: label keys such as `constructor` or `toString` are valid Kubernetes label
        // keys, and on a plain-object label map they would otherwise resolve to Object.prototype members.
        if (!Object.hasOwn(pod.metadata.labels, key)) return false;
        const podValue = pod.metadata.labels[key];
        return typeof podValue === "string" && podValue.toLowerCase() === value.toLowerCase();
      }),
  );
}
