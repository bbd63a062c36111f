/**
 * The fake's etcd: objects of every resource under one global, strictly increasing revision (the
 * `resourceVersion` clients see), plus a bounded history of changes for watches that resume from an older
 * revision. Generic over resource types — it knows storage keys and object keys, nothing about kinds.
 *
 * Like etcd, a resumed watch or an exact-revision read is possible only for revisions the history still
 * covers; older ones are "compacted" and get 410 Gone. {@link ObjectStore.compact} forces that on demand.
 * @packageDocumentation
 */
import { cloneJson, stringAt, type KubeObject } from "./json.js";

/** The kinds of change a watch reports. */
export type StoreEventType = "ADDED" | "MODIFIED" | "DELETED";

/** One committed change. */
export interface StoreEvent {
  /** The revision this change created (equals `object.metadata.resourceVersion`). */
  readonly revision: number;
  readonly type: StoreEventType;
  /** Storage key of the resource (`pods`, `leases.coordination.k8s.io`, …). */
  readonly resource: string;
  /** The object after the change; for `DELETED` the last state, stamped with the deletion revision. */
  readonly object: KubeObject;
  /** The object before the change (`undefined` for `ADDED`). */
  readonly previous: KubeObject | undefined;
}

/** Options of {@link ObjectStore}. */
export interface ObjectStoreOptions {
  /** How many events the history keeps for resumed watches (default 10 000). */
  readonly historySize?: number;
}

/** The key of an object inside its resource: `namespace/name` (`/name` for cluster-scoped objects). */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

function keyOf(object: KubeObject): string {
  return objectKey(stringAt(object.metadata, "namespace"), stringAt(object.metadata, "name") ?? "");
}

/** Compares object keys the way etcd orders `/registry/<resource>/<namespace>/<name>`. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** In-memory, revisioned object storage with a bounded change history. */
export class ObjectStore {
  readonly #data = new Map<string, Map<string, KubeObject>>();
  readonly #history: StoreEvent[] = [];
  readonly #historySize: number;
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  #revision = 0;
  #compacted = 0;

  constructor(options: ObjectStoreOptions = {}) {
    this.#historySize = Math.max(1, options.historySize ?? 10_000);
  }

  /** The latest revision (the resourceVersion of the newest change; 0 before the first write). */
  get revision(): number {
    return this.#revision;
  }

  /**
   * The compaction point: a watch or exact read may start from any revision `>=` this one; anything older
   * is gone (410). Rises when the history overflows and on {@link compact}.
   */
  get compactedRevision(): number {
    return this.#compacted;
  }

  /** A copy of one object. */
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#data.get(resource)?.get(objectKey(namespace, name));
    return found === undefined ? undefined : cloneJson(found);
  }

  /** Copies of the objects of `resource` (in `namespace` when given), ordered by namespace then name. */
  list(resource: string, namespace?: string): KubeObject[] {
    const map = this.#data.get(resource);
    if (map === undefined) return [];
    return [...map.entries()]
      .filter(([, obj]) => namespace === undefined || stringAt(obj.metadata, "namespace") === namespace)
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([, obj]) => cloneJson(obj));
  }

  /** Storage keys that currently hold at least one object. */
  resourcesInUse(): string[] {
    return [...this.#data.entries()].filter(([, m]) => m.size > 0).map(([k]) => k);
  }

  /**
   * Stores `object` (created when absent, replaced otherwise) under a new revision, which is written into
   * `metadata.resourceVersion`; returns the committed event.
   */
  put(resource: string, object: KubeObject): StoreEvent {
    const key = keyOf(object);
    let map = this.#data.get(resource);
    if (map === undefined) {
      map = new Map();
      this.#data.set(resource, map);
    }
    const previous = map.get(key);
    const revision = this.#revision + 1;
    const stored = cloneJson(object);
    stored.metadata["resourceVersion"] = String(revision);
    map.set(key, stored);
    return this.#commit({ revision, type: previous === undefined ? "ADDED" : "MODIFIED", resource, object: stored, previous });
  }

  /** Removes one object under a new revision; `undefined` when it was not there. */
  remove(resource: string, namespace: string | undefined, name: string): StoreEvent | undefined {
    const map = this.#data.get(resource);
    const key = objectKey(namespace, name);
    const previous = map?.get(key);
    if (map === undefined || previous === undefined) return undefined;
    map.delete(key);
    const revision = this.#revision + 1;
    const object = cloneJson(previous);
    object.metadata["resourceVersion"] = String(revision);
    return this.#commit({ revision, type: "DELETED", resource, object, previous });
  }

  /**
   * Events after `revision` (oldest first), or `"expired"` when the history no longer reaches back that far.
   * `revision` equal to the current revision yields `[]`.
   */
  eventsSince(revision: number): StoreEvent[] | "expired" {
    if (revision < this.#compacted) return "expired";
    const start = this.#history.findIndex((e) => e.revision > revision);
    return start < 0 ? [] : this.#history.slice(start);
  }

  /**
   * The objects of `resource` as they were at `revision` (rolled back from the present through the history),
   * or `"expired"` when the history does not cover it. Used for exact-revision lists and `continue` tokens.
   */
  snapshot(resource: string, revision: number): KubeObject[] | "expired" {
    const events = this.eventsSince(revision);
    if (events === "expired") return "expired";
    const state = new Map<string, KubeObject>(this.#data.get(resource) ?? []);
    for (let i = events.length - 1; i >= 0; i -= 1) {
      const event = events[i];
      if (event === undefined || event.resource !== resource) continue;
      const key = keyOf(event.object);
      if (event.previous === undefined) state.delete(key);
      else state.set(key, event.previous);
    }
    return [...state.entries()].sort(([a], [b]) => compareKeys(a, b)).map(([, obj]) => cloneJson(obj));
  }

  /**
   * Makes every existing revision too old: advances the revision by one (a revision without a change, as
   * etcd's compaction is from the clients' point of view) and compacts the history up to it. A list after
   * this returns the new revision, from which watching works again.
   */
  compact(): void {
    this.#revision += 1;
    this.#compacted = this.#revision;
    this.#history.length = 0;
  }

  /** Calls `listener` synchronously after each committed change; returns a function that removes it. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #commit(event: StoreEvent): StoreEvent {
    this.#revision = event.revision;
    this.#history.push(event);
    if (this.#history.length > this.#historySize) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historySize);
      const last = dropped[dropped.length - 1];
      if (last !== undefined) this.#compacted = Math.max(this.#compacted, last.revision);
    }
    for (const listener of [...this.#listeners]) listener(event);
    return event;
  }
}
