import type { AzureIdentity, AzureIdentityBinding } from "../model/types.js";
import { compareByNamespaceName, namespacedKey } from "./order.js";

/** Bindings grouped by their exact `spec.selector`, each group in (namespace, name) order. */
export type BindingsBySelector = ReadonlyMap<string, readonly AzureIdentityBinding[]>;

/**
 * Groups bindings by selector so a pod finds its candidate bindings with one map lookup instead of a
 * scan over all bindings (matching must stay O(pods + assignments) on 10,000-pod clusters). Bindings
 * with an empty selector are left out: an empty pod label matches nothing, so they can never match.
 * Each group is sorted by (namespace, name), the order in which the original considers the bindings of
 * one pod; bindings are assumed unique by (namespace, name), as the API server guarantees.
 */
export function indexBindingsBySelector(bindings: readonly AzureIdentityBinding[]): BindingsBySelector {
  const groups = new Map<string, AzureIdentityBinding[]>();
  for (const binding of bindings) {
    const selector = binding.spec.selector;
    if (selector === "") continue;
    const group = groups.get(selector);
    if (group === undefined) groups.set(selector, [binding]);
    else group.push(binding);
  }
  for (const group of groups.values()) group.sort(compareByNamespaceName);
  return groups;
}

/** AzureIdentities keyed by {@link namespacedKey}`(namespace, name)`. */
export type IdentityIndex = ReadonlyMap<string, AzureIdentity>;

/**
 * Indexes identities by (namespace, name), the key under which a binding's `spec.azureIdentity` is resolved
 * (always in the binding's own namespace, docs/compatibility.md#azureidentitybinding-fields). The API server
 * makes that key unique; should malformed input repeat it anyway, the first occurrence wins rather than a
 * silent overwrite.
 */
export function indexIdentities(identities: readonly AzureIdentity[]): IdentityIndex {
  const index = new Map<string, AzureIdentity>();
  for (const identity of identities) {
    const key = namespacedKey(identity.metadata.namespace, identity.metadata.name);
    if (!index.has(key)) index.set(key, identity);
  }
  return index;
}

/** The identity a binding refers to: `spec.azureIdentity` looked up in the binding's namespace, if it exists. */
export function bindingIdentity(index: IdentityIndex, binding: AzureIdentityBinding): AzureIdentity | undefined {
  return index.get(namespacedKey(binding.metadata.namespace, binding.spec.azureIdentity));
}
