import type { AzureAssignedIdentity, NodeView, ObjectMeta, PodView } from "@podid/core";

/** A table that starts again empty once it holds `capacity` entries, so unbounded input costs bounded memory. */
class BoundedTable<V> {
  readonly #capacity: number;
  #table = new Map<string, V>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#table.size;
  }

  /** The value held under `key`, else `make()`'s result, which is held from now on. */
  getOrAdd(key: string, make: () => V): V {
    const existing = this.#table.get(key);
    if (existing !== undefined) return existing;
    if (this.#table.size >= this.#capacity) this.#table = new Map();
    const value = make();
    this.#table.set(key, value);
    return value;
  }
}

/**
 * Shares one copy of each repeated value (namespaces, node names, timestamps, finalizers, label and
 * annotation maps) between cached objects. `JSON.parse` gives every string value longer than ten
 * characters, and every object and array, its own copy, so 10,000 AAIs would otherwise hold 10,000 copies
 * of the same finalizer, of their node's name and of their `nodename` label map. The tables are bounded:
 * when one reaches its capacity it starts again empty, so a stream of unique values (a label naming each
 * pod, say) costs at most that many entries; objects keep the copies they were given either way. Shared
 * maps and lists are frozen, as every cached object is read-only.
 */
export class SharedValues {
  readonly #strings: BoundedTable<string>;
  readonly #records: BoundedTable<Readonly<Record<string, string>>>;
  readonly #lists: BoundedTable<readonly string[]>;

  /** `capacity`: distinct strings held at most (maps and lists: a quarter of it each). */
  constructor(capacity = 8_192) {
    this.#strings = new BoundedTable(capacity);
    this.#records = new BoundedTable(Math.max(1, capacity >> 2));
    this.#lists = new BoundedTable(Math.max(1, capacity >> 2));
  }

  /** Distinct strings currently held. */
  get size(): number {
    return this.#strings.size;
  }

  /** The shared copy of `value`. */
  string(value: string): string {
    return this.#strings.getOrAdd(value, () => value);
  }

  /** The shared frozen map equal to `value`, entry order included (label keys are interned by `JSON.parse`). */
  record(value: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    const keys = Object.keys(value);
    if (keys.length === 0) return NO_ENTRIES;
    return this.#records.getOrAdd(JSON.stringify(value), () => {
      // Object.fromEntries defines own properties, so every key — `__proto__` included — is kept as data;
      // assigning `out[key]` would have set the prototype instead and dropped that label.
      return Object.freeze(Object.fromEntries(keys.map((key) => [key, this.string(value[key] as string)])));
    });
  }

  /** The shared frozen list equal to `value`. */
  list(value: readonly string[]): readonly string[] {
    if (value.length === 0) return NO_STRINGS;
    return this.#lists.getOrAdd(JSON.stringify(value), () => Object.freeze(value.map((v) => this.string(v))));
  }
}

/** The one empty map and list every cached object without labels, annotations or finalizers points to. */
const NO_ENTRIES: Readonly<Record<string, string>> = Object.freeze({});
const NO_STRINGS: readonly string[] = Object.freeze([]);

/**
 * Metadata trimmed to what podid reads of pods and nodes: name, namespace, uid, resourceVersion,
 * deletionTimestamp and (pods only, for binding selectors and exceptions) labels. Annotations, finalizers,
 * creationTimestamp and generation are never read for these kinds (MIC and NMI only list and watch them,
 * never write them back), and a real cluster's pods and nodes carry kilobytes of annotations each.
 */
function trimmedMeta(meta: ObjectMeta, shared: SharedValues, keepLabels: boolean): ObjectMeta {
  return {
    name: meta.name,
    namespace: shared.string(meta.namespace),
    ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
    ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}),
    ...(meta.deletionTimestamp !== undefined ? { deletionTimestamp: shared.string(meta.deletionTimestamp) } : {}),
    labels: keepLabels ? shared.record(meta.labels) : NO_ENTRIES,
    annotations: NO_ENTRIES,
    finalizers: NO_STRINGS,
  };
}

/**
 * A pod as the informer caches it: core's view with trimmed metadata ({@link trimmedMeta}) and its node
 * and service account names shared. Everything else of the view (phase, IPs, host network, Key Vault
 * volumes when decoded) is kept as parsed.
 */
export function podForCache(pod: PodView, shared: SharedValues): PodView {
  return {
    ...pod,
    metadata: trimmedMeta(pod.metadata, shared, true),
    nodeName: shared.string(pod.nodeName),
    serviceAccountName: shared.string(pod.serviceAccountName),
    // Addresses are unique per pod: only the empty list is shared.
    podIPs: pod.podIPs.length === 0 ? NO_STRINGS : pod.podIPs,
  };
}

/** A node as the informer caches it: its name, identity, deletion mark and providerID; no labels (never read). */
export function nodeForCache(node: NodeView, shared: SharedValues): NodeView {
  return { ...node, metadata: trimmedMeta(node.metadata, shared, false) };
}

/**
 * An AzureAssignedIdentity as the informer caches it: complete (MIC writes it back, and `podid explain`
 * reads its creation time), with its repeated strings shared: namespace, timestamps, labels (the
 * `nodename` label), annotations, finalizers and the pod namespace and node name of its spec.
 */
export function assignedIdentityForCache(assigned: AzureAssignedIdentity, shared: SharedValues): AzureAssignedIdentity {
  const { metadata, spec } = assigned;
  return {
    ...assigned,
    metadata: {
      ...metadata,
      namespace: shared.string(metadata.namespace),
      ...(metadata.creationTimestamp !== undefined ? { creationTimestamp: shared.string(metadata.creationTimestamp) } : {}),
      ...(metadata.deletionTimestamp !== undefined ? { deletionTimestamp: shared.string(metadata.deletionTimestamp) } : {}),
      labels: shared.record(metadata.labels),
      annotations: shared.record(metadata.annotations),
      finalizers: shared.list(metadata.finalizers),
    },
    spec: { ...spec, podNamespace: shared.string(spec.podNamespace), nodeName: shared.string(spec.nodeName) },
  };
}
