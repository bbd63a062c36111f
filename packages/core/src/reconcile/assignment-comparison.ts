import { identityKey } from "../azure-ids/user-assigned-identity-id.js";
import { NODENAME_LABEL } from "../model/constants.js";
import type { AzureAssignedIdentity, AzureIdentity } from "../model/types.js";
import type { DesiredAssignment } from "../matching/types.js";

/** The canonical key of a type-0 identity's resource id; `undefined` for service principals or bad ids. */
export function managedIdentityKey(identity: AzureIdentity): string | undefined {
  return identity.spec.type === 0 ? identityKey(identity.spec.resourceID) : undefined;
}

/**
 * How a stored AzureAssignedIdentity relates to the desired one of the same name:
 * - `same`: nothing to write;
 * - `refresh`: only descriptive fields changed (client id, tenant, secret ref, binding selector, labels):
 *   rewrite the object in place, keep its status, no ARM call;
 * - `replace`: where the identity lives changed (pod now on another node, identity now another resource
 *   or type): the old attachment must be released first and the object recreated, so that a crash
 *   between the two never loses track of an identity on a VM.
 *
 * Unlike the original, which compared resourceVersions of the embedded objects (so any metadata edit
 * re-processed every AAI), only fields that matter are compared.
 */
export function compareAssignment(current: AzureAssignedIdentity, desired: DesiredAssignment): "same" | "refresh" | "replace" {
  const was = current.spec;
  const wasIdentity = was.azureIdentityRef;
  const nowIdentity = desired.identity;
  const placementChanged =
    was.nodeName !== desired.nodeName ||
    was.pod !== desired.pod.metadata.name ||
    was.podNamespace !== desired.pod.metadata.namespace ||
    wasIdentity.metadata.namespace !== nowIdentity.metadata.namespace ||
    wasIdentity.metadata.name !== nowIdentity.metadata.name ||
    wasIdentity.spec.type !== nowIdentity.spec.type ||
    managedIdentityKey(wasIdentity) !== managedIdentityKey(nowIdentity);
  if (placementChanged) return "replace";

  const wasBinding = was.azureBindingRef;
  const nowBinding = desired.binding;
  const descriptiveChanged =
    current.metadata.labels[NODENAME_LABEL] !== desired.nodeName ||
    wasIdentity.spec.clientID !== nowIdentity.spec.clientID ||
    wasIdentity.spec.tenantID !== nowIdentity.spec.tenantID ||
    wasIdentity.spec.adEndpoint !== nowIdentity.spec.adEndpoint ||
    wasIdentity.spec.clientPassword?.name !== nowIdentity.spec.clientPassword?.name ||
    wasIdentity.spec.clientPassword?.namespace !== nowIdentity.spec.clientPassword?.namespace ||
    wasIdentity.spec.auxiliaryTenantIDs.join(",") !== nowIdentity.spec.auxiliaryTenantIDs.join(",") ||
    sortedEntries(wasIdentity.metadata.annotations) !== sortedEntries(nowIdentity.metadata.annotations) ||
    wasBinding.metadata.namespace !== nowBinding.metadata.namespace ||
    wasBinding.metadata.name !== nowBinding.metadata.name ||
    wasBinding.spec.selector !== nowBinding.spec.selector ||
    wasBinding.spec.azureIdentity !== nowBinding.spec.azureIdentity;
  return descriptiveChanged ? "refresh" : "same";
}

function sortedEntries(record: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
