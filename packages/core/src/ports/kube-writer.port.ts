import type { Result } from "../result.js";
import type { AssignedIdentityState, AzureAssignedIdentity } from "../model/types.js";
import type { KubeError } from "./kube-errors.js";

/** Writes MIC makes to AzureAssignedIdentities, in the original's wire format. */
export interface AssignedIdentityWriterPort {
  /** Creates the object (with finalizer and the status it carries); returns it as stored. */
  create(identity: AzureAssignedIdentity): Promise<Result<AzureAssignedIdentity, KubeError>>;
  /** Replaces spec and labels (pod moved node, identity edited) keeping the status. */
  update(identity: AzureAssignedIdentity): Promise<Result<AzureAssignedIdentity, KubeError>>;
  /** Sets `status.status`. */
  setStatus(
    identity: AzureAssignedIdentity,
    status: AssignedIdentityState,
  ): Promise<Result<AzureAssignedIdentity, KubeError>>;
  /** Deletes the object and removes the finalizer so it really goes. A missing object is success. */
  delete(identity: AzureAssignedIdentity): Promise<Result<void, KubeError>>;
}
