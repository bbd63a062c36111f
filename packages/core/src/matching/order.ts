import type { ObjectMeta } from "../model/types.js";

/**
 * Compares two strings by UTF-16 code units (`<`), returning -1, 0 or 1.
 *
 * Matching output must be identical on every machine, so the order is deliberately locale-free
 * (`localeCompare` depends on the runtime's ICU data) and it is also much cheaper on 10,000 pods.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Anything carrying a namespace and a name in its metadata (every Kubernetes object view). */
export interface NamespacedObject {
  readonly metadata: Pick<ObjectMeta, "namespace" | "name">;
}

/**
 * Orders objects by (namespace, name). The original sorts the bindings that match one pod this way
 * (`createDesiredAssignedIdentityList`) so that the "first" of two colliding bindings is stable.
 */
export function compareByNamespaceName(a: NamespacedObject, b: NamespacedObject): number {
  return (
    compareCodeUnits(a.metadata.namespace, b.metadata.namespace) || compareCodeUnits(a.metadata.name, b.metadata.name)
  );
}

/**
 * Orders objects by (namespace, name, uid). The uid only breaks the tie between two incarnations of a
 * same-named object (a pod deleted and recreated between two informer snapshots); a missing uid sorts first.
 */
export function compareByNamespaceNameUid(
  a: { readonly metadata: Pick<ObjectMeta, "namespace" | "name" | "uid"> },
  b: { readonly metadata: Pick<ObjectMeta, "namespace" | "name" | "uid"> },
): number {
  return compareByNamespaceName(a, b) || compareCodeUnits(a.metadata.uid ?? "", b.metadata.uid ?? "");
}

/**
 * An unambiguous map key for a (namespace, name) pair. The length prefix makes the key injective for
 * arbitrary strings, so no separator character can make two different pairs collide.
 */
export function namespacedKey(namespace: string, name: string): string {
  return `${namespace.length}:${namespace}/${name}`;
}
