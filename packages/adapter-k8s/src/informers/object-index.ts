/**
 * A secondary index over cached objects: each object is filed under the keys `keysOf` returns
 * (several for a dual-stack pod's IPs, none when it has no address yet). Kept in step with the cache on
 * every add, update and delete, so lookups are map reads instead of scans over every pod or AAI.
 */
export class ObjectIndex<T> {
  readonly #keysOf: (object: T) => readonly string[];
  /** index key → (object key → object) */
  readonly #buckets = new Map<string, Map<string, T>>();
  /** object key → the index keys it is filed under */
  readonly #filed = new Map<string, readonly string[]>();

  /** `keysOf` must be pure: the same object always yields the same keys. */
  constructor(keysOf: (object: T) => readonly string[]) {
    this.#keysOf = keysOf;
  }

  /** Files (or re-files) `object` stored under `objectKey`. */
  set(objectKey: string, object: T): void {
    this.delete(objectKey);
    const keys = [...new Set(this.#keysOf(object))];
    for (const key of keys) {
      let bucket = this.#buckets.get(key);
      if (bucket === undefined) this.#buckets.set(key, (bucket = new Map()));
      bucket.set(objectKey, object);
    }
    this.#filed.set(objectKey, keys);
  }

  /** Removes the object stored under `objectKey` from every bucket. */
  delete(objectKey: string): void {
    const keys = this.#filed.get(objectKey);
    if (keys === undefined) return;
    for (const key of keys) {
      const bucket = this.#buckets.get(key);
      bucket?.delete(objectKey);
      if (bucket?.size === 0) this.#buckets.delete(key);
    }
    this.#filed.delete(objectKey);
  }

  /** The objects filed under `key`, ordered by object key (deterministic for callers and tests). */
  get(key: string): readonly T[] {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return [];
    return [...bucket.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, object]) => object);
  }

  /** Every index key that has at least one object. */
  keys(): readonly string[] {
    return [...this.#buckets.keys()];
  }
}
