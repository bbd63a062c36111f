import { GROUP_VERSION } from "../model/constants.js";
import type { AzureAssignedIdentity } from "../model/types.js";
import type { InvolvedObject } from "../ports/event-recorder.port.js";

/** Event reasons MIC records on bindings, unchanged from the original so existing alerts keep working. */
export const BINDING_EVENT = {
  applied: "binding applied",
  applyError: "binding apply error",
  removed: "binding removed",
  removeError: "binding remove error",
} as const;

/** The binding an AzureAssignedIdentity came from, as the object of an Event. */
export function bindingOf(assigned: AzureAssignedIdentity): InvolvedObject {
  const binding = assigned.spec.azureBindingRef;
  return {
    kind: "AzureIdentityBinding",
    apiVersion: GROUP_VERSION,
    namespace: binding.metadata.namespace,
    name: binding.metadata.name,
    ...(binding.metadata.uid === undefined ? {} : { uid: binding.metadata.uid }),
  };
}

/** `<identity namespace>/<identity name>`, for Event messages. */
export function identityLabel(assigned: AzureAssignedIdentity): string {
  const identity = assigned.spec.azureIdentityRef.metadata;
  return `${identity.namespace}/${identity.name}`;
}
