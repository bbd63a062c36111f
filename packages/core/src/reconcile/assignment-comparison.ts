import { identityKey } from "../azure-ids/user-assigned-identity-id.js";
import { NODENAME_LABEL } from "../model/constants.js";
import type { AzureAssignedIdentity, AzureIdentity } from "../model/types.js";
import type { DesiredAssignment } from "../matching/types.js";

const keyCache = new WeakMap<AzureIdentity, string | undefined>();

/**
 * The canonical key of a type-0 identity's resource id; `undefined` for service principals or bad ids.
 * Memoised per object (model objects are immutable), since planning asks for it several times per pair.
 */
export function managedIdentityKey(identity: AzureIdentity): string | undefined {
  if (keyCache.has(identity)) return keyCache.get(identity);
  const key = identity.spec.type === 0 ? identityKey(identity.spec.resourceID) : undefined;
  keyCache.set(identity, key);
  return key;
}

const federatedKeyCache = new WeakMap<AzureIdentity, string | undefined>();

/**
 * The canonical key of a federated (type 3) identity's resource id, the identity whose federated credentials MIC
 * keeps (docs/adr/0021-federated-identities.md); `undefined` for other types. Memoised like {@link managedIdentityKey}.
 */
export function federatedIdentityKey(identity: AzureIdentity): string | undefined {
  if (federatedKeyCache.has(identity)) return federatedKeyCache.get(identity);
  const key = identity.spec.type === 3 ? identityKey(identity.spec.resourceID) : undefined;
  federatedKeyCache.set(identity, key);
  return key;
}

/**
 * How a stored AzureAssignedIdentity relates to the desired one of the same name:
 * - `same`: nothing to write;
 * - `refresh`: only descriptive fields changed (client id, tenant, secret ref, binding selector, labels):
 *   rewrite the object in place, keep its status, no ARM call;
 * - `replace`: where the identity lives changed (pod now on another VM/VMSS, identity now another resource
 *   or type): the old attachment must be released first and the object recreated, so that a crash
 *   between the two never loses track of an identity on a VM.
 *
 * A pod re-created under its old name on another node (a StatefulSet) whose new node is on the same
 * VM/VMSS as the old one (`sameTarget`), or whose identity is a service principal, is a `refresh`: the
 * identity it needs is where it was, so the object moves in place keeping its status. Replacing it would
 * detach an identity the pod still needs, or — had the release relied on the replacement to come — leave
 * it attached with no object naming it, should the pod go before the replacement is written.
 *
 * Unlike the original, which compared resourceVersions of the embedded objects (so any metadata edit
 * re-processed every AAI), only fields that matter are compared.
 */
export function compareAssignment(
  current: AzureAssignedIdentity,
  desired: DesiredAssignment,
  sameTarget: (nodeA: string, nodeB: string) => boolean = () => false,
): "same" | "refresh" | "replace" {
  const was = current.spec;
  const wasIdentity = was.azureIdentityRef;
  const nowIdentity = desired.identity;
  if (was.azureIdentityRef === desired.identity && was.azureBindingRef === desired.binding && was.nodeName === desired.nodeName && current.metadata.labels[NODENAME_LABEL] === desired.nodeName && was.pod === desired.pod.metadata.name && was.podNamespace === desired.pod.metadata.namespace) {
    return "same";
  }
  const wasKey = managedIdentityKey(wasIdentity);
  const placementChanged =
    (was.nodeName !== desired.nodeName && wasKey !== undefined && !sameTarget(was.nodeName, desired.nodeName)) ||
    was.pod !== desired.pod.metadata.name ||
    was.podNamespace !== desired.pod.metadata.namespace ||
    wasIdentity.metadata.namespace !== nowIdentity.metadata.namespace ||
    wasIdentity.metadata.name !== nowIdentity.metadata.name ||
    wasIdentity.spec.type !== nowIdentity.spec.type ||
    wasKey !== managedIdentityKey(nowIdentity) ||
    // A federated identity's credentials live on its resource: another resource needs its own credential first.
    federatedIdentityKey(wasIdentity) !== federatedIdentityKey(nowIdentity);
  if (placementChanged) return "replace";

  const wasBinding = was.azureBindingRef;
  const nowBinding = desired.binding;
  const descriptiveChanged =
    was.nodeName !== desired.nodeName ||
    current.metadata.labels[NODENAME_LABEL] !== desired.nodeName ||
    wasIdentity.spec.clientID !== nowIdentity.spec.clientID ||
    wasIdentity.spec.tenantID !== nowIdentity.spec.tenantID ||
    wasIdentity.spec.adEndpoint !== nowIdentity.spec.adEndpoint ||
    wasIdentity.spec.clientPassword?.name !== nowIdentity.spec.clientPassword?.name ||
    wasIdentity.spec.clientPassword?.namespace !== nowIdentity.spec.clientPassword?.namespace ||
    wasIdentity.spec.auxiliaryTenantIDs.join(",") !== nowIdentity.spec.auxiliaryTenantIDs.join(",") ||
    wasIdentity.spec.serviceAccounts.join(",") !== nowIdentity.spec.serviceAccounts.join(",") ||
    !sameRecord(wasIdentity.metadata.annotations, nowIdentity.metadata.annotations) ||
    wasBinding.metadata.namespace !== nowBinding.metadata.namespace ||
    wasBinding.metadata.name !== nowBinding.metadata.name ||
    wasBinding.spec.selector !== nowBinding.spec.selector ||
    wasBinding.spec.azureIdentity !== nowBinding.spec.azureIdentity;
  return descriptiveChanged ? "refresh" : "same";
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
