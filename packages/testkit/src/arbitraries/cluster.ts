import fc from "fast-check";
import type {
  AzureIdentity,
  AzureIdentityBinding,
  AzurePodIdentityException,
  IdentityType,
  NodeView,
  PodView,
} from "@podid/core";
import { azureIdentityArb } from "./azure-identity.js";
import { azureIdentityBindingArb } from "./azure-identity-binding.js";
import { azurePodIdentityExceptionArb } from "./azure-pod-identity-exception.js";
import { vmNodeArb, vmssNodeArb } from "./node.js";
import { podArb } from "./pod.js";
import { plainRecord } from "./object-meta.js";
import {
  IDENTITY_NAME_POOL,
  NAMESPACE_POOL,
  NODE_POOL_HASH_POOL,
  NODE_POOL_NAME_POOL,
  NODE_RESOURCE_GROUP_POOL,
  SELECTOR_POOL,
  SUBSCRIPTION_POOL,
} from "./pools.js";

/** A consistent, typed snapshot of everything podid reads from a cluster. */
export interface ClusterSnapshot {
  readonly nodes: readonly NodeView[];
  readonly pods: readonly PodView[];
  readonly identities: readonly AzureIdentity[];
  readonly bindings: readonly AzureIdentityBinding[];
  readonly exceptions: readonly AzurePodIdentityException[];
}

/** Size and shape options of {@link clusterArb}. */
export interface ClusterArbOptions {
  /** Upper bound on nodes (default 6). */
  readonly maxNodes?: number;
  /** Upper bound on pods (default 10). */
  readonly maxPods?: number;
  /** Upper bound on identities (default 5). */
  readonly maxIdentities?: number;
  /** Upper bound on bindings (default 6). */
  readonly maxBindings?: number;
  /** Upper bound on exceptions (default 2). */
  readonly maxExceptions?: number;
  /** Namespaces objects live in (default {@link NAMESPACE_POOL}). */
  readonly namespaces?: readonly string[];
  /** Identity types (default 0, 1, 2). */
  readonly identityTypes?: readonly IdentityType[];
  /** Out of 10, how often a binding references an identity that does not exist (default 1). */
  readonly danglingBindingWeight?: number;
  /** Out of 10, how often an identity carries `Behavior: namespaced` (default 2). */
  readonly namespacedAnnotationWeight?: number;
}

/** Key of a namespaced object, for uniqueness. */
function nsName(o: { readonly metadata: { readonly namespace: string; readonly name: string } }): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

/** One node pool: a scale set with 2–4 instances or 1–4 standalone VMs, at a distinct placement. */
const nodePoolArb = plainRecord({
    subscriptionId: fc.constantFrom(...SUBSCRIPTION_POOL),
    resourceGroup: fc.constantFrom(...NODE_RESOURCE_GROUP_POOL),
    pool: fc.constantFrom(...NODE_POOL_NAME_POOL),
    hash: fc.constantFrom(...NODE_POOL_HASH_POOL),
    vmss: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    ids: fc.uniqueArray(fc.nat(40), { minLength: 2, maxLength: 4 }),
  });

/** Nodes of up to three pools (distinct pool name + hash, so names never clash), capped at `max`. */
function nodesArb(max: number): fc.Arbitrary<readonly NodeView[]> {
  if (max <= 0) return fc.constant([]);
  return fc
    .uniqueArray(nodePoolArb, { minLength: 1, maxLength: 3, selector: (p) => `${p.pool}-${p.hash}` })
    .chain((pools) =>
      fc.tuple(
        ...pools.flatMap((p) =>
          p.vmss ? p.ids.map((id) => vmssNodeArb(p, id)) : [...new Set(p.ids.map((id) => id % 10))].map((i) => vmNodeArb(p, i)),
        ),
      ),
    )
    .map((nodes) => nodes.slice(0, max));
}

/**
 * A consistent cluster: VMSS pools with several nodes and standalone VMs; identities whose names repeat
 * across namespaces; bindings that reference an existing identity in their own namespace most of the time
 * (sometimes a missing one); pods in several namespaces, scheduled on the generated nodes, labelled with
 * the bindings' selectors (sometimes with an unbound selector or none); exceptions whose labels come from
 * the pod label pool. Names are unique per namespace within each kind.
 */
export function clusterArb(options: ClusterArbOptions = {}): fc.Arbitrary<ClusterSnapshot> {
  const namespaces = options.namespaces !== undefined && options.namespaces.length > 0 ? options.namespaces : NAMESPACE_POOL;
  const dangling = Math.max(0, Math.min(10, options.danglingBindingWeight ?? 1));
  const identities = fc.uniqueArray(
    azureIdentityArb({
      namespaces,
      ...(options.identityTypes !== undefined ? { types: options.identityTypes } : {}),
      namespacedAnnotationWeight: options.namespacedAnnotationWeight ?? 2,
    }),
    { maxLength: options.maxIdentities ?? 5, selector: nsName },
  );
  return plainRecord({
      nodes: nodesArb(options.maxNodes ?? 6),
      identities,
      exceptions: fc.array(azurePodIdentityExceptionArb({ namespaces }), { maxLength: options.maxExceptions ?? 2 }),
    })
    .chain(({ nodes, identities: ids, exceptions }) => {
      const existing = ids.map((id) =>
        azureIdentityBindingArb({ namespaces: [id.metadata.namespace], identityNames: [id.metadata.name] }),
      );
      const missing = azureIdentityBindingArb({ namespaces, identityNames: ["ghost-identity", ...IDENTITY_NAME_POOL] });
      const bindingArb =
        existing.length === 0 || dangling === 10
          ? missing
          : dangling === 0
            ? fc.oneof(...existing)
            : fc.oneof({ arbitrary: fc.oneof(...existing), weight: 10 - dangling }, { arbitrary: missing, weight: dangling });
      return fc.array(bindingArb, { maxLength: options.maxBindings ?? 6 }).chain((rawBindings) => {
        const bindings = rawBindings.map(
          (b, i): AzureIdentityBinding => ({ ...b, metadata: { ...b.metadata, name: `${b.spec.azureIdentity}-binding-${i}` } }),
        );
        const bound = [...new Set(bindings.map((b) => b.spec.selector))];
        // Bound selectors weighted up against the rest of the pool, plus one that no binding uses.
        const selectors = [...bound, ...bound, ...bound, ...SELECTOR_POOL, "unbound"];
        const pods = fc
          .array(podArb({ namespaces, selectors, nodeNames: nodes.map((n) => n.metadata.name) }), {
            maxLength: options.maxPods ?? 10,
          })
          .map((ps) => ps.map((p, i): PodView => ({ ...p, metadata: { ...p.metadata, name: `pod-${i}` } })));
        return pods.map(
          (podList): ClusterSnapshot => ({
            nodes,
            pods: podList,
            identities: ids,
            bindings,
            exceptions: exceptions.map((e, i) => ({ ...e, metadata: { ...e.metadata, name: `exception-${i}` } })),
          }),
        );
      });
    });
}
