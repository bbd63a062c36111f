import fc from "fast-check";
import type { ObjectMeta } from "@podid/core";
import { NAMESPACE_POOL, POD_LABEL_POOL } from "./pools.js";

/** A DNS-1123 label such as Kubernetes accepts for object names (short, to keep shrinking fast). */
export const k8sNameArb: fc.Arbitrary<string> = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);

/** An RFC 3339 timestamp with second precision, as the API server writes it. */
export const timestampArb: fc.Arbitrary<string> = fc
  .date({ min: new Date("2019-01-01T00:00:00Z"), max: new Date("2030-12-31T23:59:59Z"), noInvalidDate: true })
  .map((d) => d.toISOString().replace(/\.\d{3}Z$/, "Z"));

/** Labels drawn from {@link POD_LABEL_POOL} (at most one value per key). */
export const labelsArb: fc.Arbitrary<Record<string, string>> = fc
  .subarray([...POD_LABEL_POOL], { maxLength: 3 })
  .map((pairs) => Object.fromEntries(pairs));

/** Free-form annotations (a few, with simple keys). */
export const annotationsArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom("example.com/owner", "kubectl.kubernetes.io/last-applied-configuration", "note"),
  fc.string({ maxLength: 12 }),
  { maxKeys: 2, noNullPrototype: true },
);

/** Options of {@link objectMetaArb}. */
export interface ObjectMetaArbOptions {
  /** Namespaces to draw from (default {@link NAMESPACE_POOL}); ignored when `namespaced` is false. */
  readonly namespaces?: readonly string[];
  /** Names to draw from (default: any DNS-1123 label). */
  readonly names?: readonly string[];
  /** False for cluster-scoped objects (namespace `""`). Default true. */
  readonly namespaced?: boolean;
  /** Labels (default {@link labelsArb}). */
  readonly labels?: fc.Arbitrary<Readonly<Record<string, string>>>;
  /** Annotations (default {@link annotationsArb}). */
  readonly annotations?: fc.Arbitrary<Readonly<Record<string, string>>>;
  /** Finalizers (default: none or one arbitrary). */
  readonly finalizers?: fc.Arbitrary<readonly string[]>;
  /** Whether `deletionTimestamp` may be set (default false: most tests want live objects). */
  readonly allowDeleting?: boolean;
}

/** Picks from a non-empty pool, or falls back to `fallback` when no pool is given. */
export function fromPool<T>(pool: readonly T[] | undefined, fallback: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return pool !== undefined && pool.length > 0 ? fc.constantFrom(...pool) : fallback;
}

/** A valid {@link ObjectMeta} (what `parseObjectMeta` can produce): non-empty name, namespace when namespaced. */
export function objectMetaArb(options: ObjectMetaArbOptions = {}): fc.Arbitrary<ObjectMeta> {
  const namespaced = options.namespaced ?? true;
  return fc
    .record(
      {
        name: fromPool(options.names, k8sNameArb),
        namespace: namespaced ? fromPool(options.namespaces ?? NAMESPACE_POOL, k8sNameArb) : fc.constant(""),
        uid: fc.uuid(),
        resourceVersion: fc.nat(9_999_999).map(String),
        generation: fc.integer({ min: 1, max: 50 }),
        creationTimestamp: timestampArb,
        deletionTimestamp: options.allowDeleting === true ? timestampArb : fc.constant(undefined),
        labels: options.labels ?? labelsArb,
        annotations: options.annotations ?? annotationsArb,
        finalizers: options.finalizers ?? fc.subarray(["example.com/protect"]),
      },
      { requiredKeys: ["name", "namespace", "labels", "annotations", "finalizers"], noNullPrototype: true },
    )
    .map((m): ObjectMeta => {
      // fc.record drops optional keys; the mapped object must not carry `undefined` values either.
      const { deletionTimestamp, ...rest } = m;
      return deletionTimestamp === undefined ? rest : { ...rest, deletionTimestamp };
    });
}

/**
 * `fc.record` producing ordinary objects (fast-check may otherwise create null-prototype records, which
 * are not deep-equal to what a parser builds and print oddly).
 */
export function plainRecord<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}
