import { ASSIGNED_IDENTITY_FINALIZER, NODENAME_LABEL } from "../model/constants.js";
import type { AssignedIdentityWireStatus, AzureAssignedIdentity } from "../model/types.js";
import type { DesiredAssignment } from "../matching/types.js";

/**
 * The AzureAssignedIdentity MIC writes for a desired assignment, in the original's shape
 * (docs/compatibility.md#azureassignedidentity-objects): label `nodename`, the finalizer, embedded copies of
 * identity and binding, pod, pod namespace and node.
 * @internal Exported from the package index only for tests: cli's explain fixtures and harness's planner benchmark store AAIs exactly as MIC writes them.
 */
export function buildAssignedIdentity(
  assignment: DesiredAssignment,
  status: AssignedIdentityWireStatus = "Created",
): AzureAssignedIdentity {
  return {
    kind: "AzureAssignedIdentity",
    metadata: {
      name: assignment.name,
      namespace: assignment.namespace,
      labels: { [NODENAME_LABEL]: assignment.nodeName },
      annotations: {},
      finalizers: [ASSIGNED_IDENTITY_FINALIZER],
    },
    spec: {
      azureIdentityRef: assignment.identity,
      azureBindingRef: assignment.binding,
      pod: assignment.pod.metadata.name,
      podNamespace: assignment.pod.metadata.namespace,
      nodeName: assignment.nodeName,
    },
    status,
  };
}
