import { GROUP_VERSION } from "./constants.js";
import { serialiseAzureIdentity } from "./serialise-azure-identity.js";
import { serialiseAzureIdentityBinding } from "./serialise-azure-identity-binding.js";
import { serialiseObjectMeta } from "./serialise-object-meta.js";
import type { AzureAssignedIdentity } from "./types.js";
import type { WireAzureAssignedIdentity } from "./wire-types.js";

/**
 * An AzureAssignedIdentity in the original MIC's wire format, so existing NMIs, dashboards and scripts
 * keep working: metadata (labels such as `nodename`, finalizers, resourceVersion when known), spec with
 * full embedded copies of the identity and binding plus `pod`, `podNamespace` and lower-case `nodename`,
 * and `status: {status, availableReplicas: 1}` (the original always writes 1).
 */
export function serialiseAzureAssignedIdentity(assigned: AzureAssignedIdentity): WireAzureAssignedIdentity {
  const { spec } = assigned;
  return {
    apiVersion: GROUP_VERSION,
    kind: "AzureAssignedIdentity",
    metadata: serialiseObjectMeta(assigned.metadata),
    spec: {
      azureIdentityRef: serialiseAzureIdentity(spec.azureIdentityRef),
      azureBindingRef: serialiseAzureIdentityBinding(spec.azureBindingRef),
      pod: spec.pod,
      podNamespace: spec.podNamespace,
      nodename: spec.nodeName,
    },
    status: { status: assigned.status, availableReplicas: 1 },
  };
}
