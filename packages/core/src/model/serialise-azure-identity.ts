import { GROUP_VERSION } from "./constants.js";
import { serialiseObjectMeta } from "./serialise-object-meta.js";
import type { AzureIdentity } from "./types.js";
import type { WireAzureIdentity } from "./wire-types.js";

/**
 * An AzureIdentity as wire JSON, camelCase only (the format the original has read since v1.6.0); podid's own
 * `serviceAccounts` is written only when non-empty.
 */
export function serialiseAzureIdentity(identity: AzureIdentity): WireAzureIdentity {
  const { spec } = identity;
  return {
    apiVersion: GROUP_VERSION,
    kind: "AzureIdentity",
    metadata: serialiseObjectMeta(identity.metadata),
    spec: {
      type: spec.type,
      resourceID: spec.resourceID,
      clientID: spec.clientID,
      clientPassword:
        spec.clientPassword === undefined ? {} : { name: spec.clientPassword.name, namespace: spec.clientPassword.namespace },
      tenantID: spec.tenantID,
      auxiliaryTenantIDs: [...spec.auxiliaryTenantIDs],
      adEndpoint: spec.adEndpoint,
      adResourceID: spec.adResourceID,
      ...(spec.serviceAccounts.length > 0 ? { serviceAccounts: [...spec.serviceAccounts] } : {}),
    },
  };
}
