import type { AzureAssignedIdentity } from "../model/types.js";
import { indexBindingsBySelector, indexIdentities } from "../matching/indexes.js";
import { namespacedKey } from "../matching/order.js";
import type { LiveIdentityObjects } from "./assignment-backing.js";

/**
 * Lookups a standard-mode token decision makes on every request, built once per change of the objects they
 * index instead of once per request (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md). Each index is a pure
 * function of the list it indexes; handing one to the decision never changes its answer, only its cost.
 * @packageDocumentation
 */

/** The live bindings and identities together with their selector and (namespace, name) indexes. */
export interface IndexedLiveIdentityObjects extends LiveIdentityObjects {
  readonly bindingsBySelector: NonNullable<LiveIdentityObjects["bindingsBySelector"]>;
  readonly identityIndex: NonNullable<LiveIdentityObjects["identityIndex"]>;
}

/** `live` with `bindingsBySelector` and `identityIndex` built from its own lists. */
export function indexLiveIdentityObjects(live: Pick<LiveIdentityObjects, "bindings" | "identities">): IndexedLiveIdentityObjects {
  return {
    bindings: live.bindings,
    identities: live.identities,
    bindingsBySelector: indexBindingsBySelector(live.bindings),
    identityIndex: indexIdentities(live.identities),
  };
}

/** AzureAssignedIdentities grouped by the pod they name (`spec.podNamespace`, `spec.pod`), each group in list order. */
export type AssignedIdentitiesByPod = ReadonlyMap<string, readonly AzureAssignedIdentity[]>;

/**
 * Groups AAIs by the pod they name. A pod can only use AAIs naming it (`isAssignedIdentityForPod` checks the
 * name first), so handing a decision the pod's own group instead of every AAI of the node changes nothing
 * but the cost: a node holds an AAI per pod and identity, and every request used to test them all.
 */
export function indexAssignedIdentitiesByPod(assignedIdentities: readonly AzureAssignedIdentity[]): AssignedIdentitiesByPod {
  const groups = new Map<string, AzureAssignedIdentity[]>();
  for (const aai of assignedIdentities) {
    const key = namespacedKey(aai.spec.podNamespace, aai.spec.pod);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [aai]);
    else group.push(aai);
  }
  return groups;
}

const NONE: readonly AzureAssignedIdentity[] = [];

/** The AAIs of `index` naming the pod `namespace`/`name`, in list order (none: empty). */
export function assignedIdentitiesNaming(index: AssignedIdentitiesByPod, namespace: string, name: string): readonly AzureAssignedIdentity[] {
  return index.get(namespacedKey(namespace, name)) ?? NONE;
}
