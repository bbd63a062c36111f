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
        const podValue = pod.metadata.labels[key];
        return podValue !== undefined && podValue.toLowerCase() === value.toLowerCase();
      }),
  );
}
