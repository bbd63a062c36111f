import {
  err,
  ok,
  type AssignedIdentityState,
  type AssignedIdentityWriterPort,
  type AzureAssignedIdentity,
  type ClockPort,
  type KubeError,
  type KubeReaderPort,
  type ObjectMeta,
  type ResourceEvent,
  type Result,
  type SecretData,
  type Unsubscribe,
  type WatchedResource,
  type WatchedResources,
} from "@podid/core";
import { fakeGuid } from "./fake-ids.js";

/** The writer operations of {@link FakeCluster} (the {@link AssignedIdentityWriterPort} methods). */
export type ClusterWriteOp = "create" | "update" | "setStatus" | "delete";

/** One writer call, as recorded in {@link FakeCluster.writeLog}. */
export interface ClusterWriteLogEntry {
  /** Position in the log, from 1. */
  readonly seq: number;
  readonly op: ClusterWriteOp;
  readonly namespace: string;
  readonly name: string;
  /** `ok`, or the kind of the error returned. */
  readonly outcome: "ok" | KubeError["kind"];
  /** The resourceVersion the call was made with (absent when the caller sent none). */
  readonly sentResourceVersion?: string;
  /** The resourceVersion stored by a successful create/update/setStatus. */
  readonly resourceVersion?: string;
  /** For `setStatus`: the status written. */
  readonly status?: AssignedIdentityState;
  /** For a successful `delete`: whether an object was there (deleting a missing object is success). */
  readonly existed?: boolean;
}

/** Counts of writer calls by operation (failed calls included), for benchmarks and API-pressure tests. */
export interface ClusterWriteCounts {
  readonly creates: number;
  readonly updates: number;
  readonly statusUpdates: number;
  readonly deletes: number;
  /** Calls that returned an error (any operation). */
  readonly failures: number;
  /**
   * HTTP requests a real client would have made for the successful calls: `delete` of an object that
   * carries finalizers costs two (DELETE, then the PUT that drops the finalizer), everything else one.
   */
  readonly apiRequests: number;
}

/** Options of {@link FakeCluster}. */
export interface FakeClusterOptions {
  /**
   * How watch events reach subscribers: `sync` (default) calls handlers before the mutating call
   * returns, so a test can assert right after `apply`; `microtask` queues each event with
   * `queueMicrotask`, like a real informer delivering later (await once, or `clock.flush()`, to see it).
   * Order is preserved either way. Handler exceptions propagate in `sync` mode.
   */
  readonly delivery?: "sync" | "microtask";
  /** Source of `creationTimestamp`/`deletionTimestamp` (default: a fixed instant in 2023). */
  readonly clock?: Pick<ClockPort, "now">;
}

/** Predicate-based fault: return an error to fail that writer call, `undefined` to let it through. */
export type ClusterWriteFault = (op: ClusterWriteOp, object: AzureAssignedIdentity) => KubeError | undefined;

type AnyObject = WatchedResources[WatchedResource];
type Handler = (event: ResourceEvent<AnyObject>) => void;

const KIND_OF: { readonly [R in WatchedResource]: WatchedResources[R]["kind"] } = {
  pods: "Pod",
  nodes: "Node",
  azureidentities: "AzureIdentity",
  azureidentitybindings: "AzureIdentityBinding",
  azureassignedidentities: "AzureAssignedIdentity",
  azurepodidentityexceptions: "AzurePodIdentityException",
};

const RESOURCES = Object.keys(KIND_OF) as WatchedResource[];
const AAI = "azureassignedidentities" satisfies WatchedResource;

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * An in-memory Kubernetes API server and informer cache in one object. It implements
 * {@link KubeReaderPort} (what controllers read and watch) and {@link AssignedIdentityWriterPort} (the
 * writes MIC makes), so the MIC and NMI loops can run against it unchanged.
 *
 * Like etcd, one global revision counter increases on every write of any object, and each stored
 * object gets the new value as its `resourceVersion`; `uid` and `creationTimestamp` are assigned when an
 * object is first stored and kept afterwards. Tests set up state with {@link apply} / {@link remove} /
 * {@link requestDeletion} / {@link applySecret}, which always succeed and emit watch events; the writer
 * methods follow the API server's rules (conflicts on existing names and stale resourceVersions,
 * finalizers) and can be made to fail with {@link failNextWrites} and {@link injectWriteFault}.
 */
export class FakeCluster implements KubeReaderPort, AssignedIdentityWriterPort {
  readonly #store = new Map<WatchedResource, Map<string, AnyObject>>(RESOURCES.map((r) => [r, new Map()]));
  readonly #handlers = new Map<WatchedResource, Set<Handler>>(RESOURCES.map((r) => [r, new Set()]));
  readonly #secrets = new Map<string, SecretData>();
  readonly #delivery: "sync" | "microtask";
  readonly #clock: Pick<ClockPort, "now">;
  #revision = 0;
  #uidCounter = 0;
  #synced = true;
  #failNext: KubeError[] = [];
  #secretFailures: KubeError[] = [];
  readonly #faults = new Set<ClusterWriteFault>();
  readonly #log: ClusterWriteLogEntry[] = [];
  #counts = { creates: 0, updates: 0, statusUpdates: 0, deletes: 0, failures: 0, apiRequests: 0 };
  #secretReads = 0;

  /** Creates an empty cluster. */
  constructor(options: FakeClusterOptions = {}) {
    this.#delivery = options.delivery ?? "sync";
    this.#clock = options.clock ?? { now: () => 1_700_000_000_000 };
  }

  // ── KubeReaderPort ────────────────────────────────────────────────────────────────────────────

  /** All stored objects of `resource` (optionally in one namespace), in insertion order. */
  list<R extends WatchedResource>(resource: R, namespace?: string): readonly WatchedResources[R][] {
    const all = [...this.#map(resource).values()] as WatchedResources[R][];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** One stored object; cluster-scoped objects (nodes) use namespace `""`. */
  get<R extends WatchedResource>(resource: R, namespace: string, name: string): WatchedResources[R] | undefined {
    return this.#map(resource).get(keyOf(namespace, name)) as WatchedResources[R] | undefined;
  }

  /** Calls `handler` for every later change of `resource` (see {@link FakeClusterOptions.delivery}). */
  subscribe<R extends WatchedResource>(resource: R, handler: (event: ResourceEvent<WatchedResources[R]>) => void): Unsubscribe {
    const set = this.#handlersOf(resource);
    const wrapped = handler as Handler;
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
    };
  }

  /** True unless a test called {@link setSynced} with `false` (to exercise start-up gating). */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Reads a Secret stored with {@link applySecret}; `notFound` otherwise. Returns copies of the bytes. */
  async readSecret(namespace: string, name: string): Promise<Result<SecretData, KubeError>> {
    this.#secretReads++;
    const failure = this.#secretFailures.shift();
    if (failure !== undefined) return err(failure);
    const data = this.#secrets.get(keyOf(namespace, name));
    if (data === undefined) return err({ kind: "notFound", message: `secrets "${name}" not found` });
    return ok(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Uint8Array.from(v)])));
  }

  // ── Test set-up API (always succeeds, emits watch events) ─────────────────────────────────────

  /**
   * Creates or replaces an object, ignoring its `resourceVersion` (an unconditional upsert). Keeps the
   * stored `uid`/`creationTimestamp` on replace; on create keeps a `uid`/`creationTimestamp` the object
   * already carries (so tests can pin them) and assigns them otherwise. Emits `added` or `modified`.
   * Throws when `object.kind` does not belong to `resource` (a test bug).
   */
  apply<R extends WatchedResource>(resource: R, object: WatchedResources[R]): WatchedResources[R] {
    if (object.kind !== KIND_OF[resource]) {
      throw new Error(`FakeCluster.apply: a ${object.kind} cannot be stored as ${resource}`);
    }
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = this.#map(resource).get(key) as WatchedResources[R] | undefined;
    const stored = this.#stamp(object, previous);
    this.#map(resource).set(key, stored);
    this.#emit(resource, previous === undefined ? { type: "added", object: stored } : { type: "modified", object: stored, previous });
    return stored;
  }

  /** Removes an object outright (no finalizer handling), emitting `deleted`; false when absent. */
  remove(resource: WatchedResource, namespace: string, name: string): boolean {
    const key = keyOf(namespace, name);
    const previous = this.#map(resource).get(key);
    if (previous === undefined) return false;
    this.#revision++;
    this.#map(resource).delete(key);
    this.#emit(resource, { type: "deleted", object: previous });
    return true;
  }

  /**
   * Deletes like `kubectl delete`: an object with finalizers only gets a `deletionTimestamp` (a
   * `modified` event) and stays until the finalizers are removed; one without finalizers goes.
   */
  requestDeletion(resource: WatchedResource, namespace: string, name: string): "deleted" | "terminating" | "notFound" {
    const key = keyOf(namespace, name);
    const previous = this.#map(resource).get(key);
    if (previous === undefined) return "notFound";
    if (previous.metadata.finalizers.length === 0) {
      this.remove(resource, namespace, name);
      return "deleted";
    }
    if (previous.metadata.deletionTimestamp === undefined) {
      const stored = this.#stamp(
        { ...previous, metadata: { ...previous.metadata, deletionTimestamp: rfc3339(this.#clock.now()) } } as AnyObject,
        previous,
      );
      this.#map(resource).set(key, stored);
      this.#emit(resource, { type: "modified", object: stored, previous });
    }
    return "terminating";
  }

  /** Stores a Secret; string values are UTF-8 encoded (the port hands out decoded bytes). */
  applySecret(namespace: string, name: string, data: Readonly<Record<string, Uint8Array | string>>): void {
    const encoder = new TextEncoder();
    this.#revision++;
    this.#secrets.set(
      keyOf(namespace, name),
      Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? encoder.encode(v) : Uint8Array.from(v)])),
    );
  }

  /** Removes a Secret; false when absent. */
  removeSecret(namespace: string, name: string): boolean {
    const removed = this.#secrets.delete(keyOf(namespace, name));
    if (removed) this.#revision++;
    return removed;
  }

  /** Makes {@link hasSynced} report `synced`. */
  setSynced(synced: boolean): void {
    this.#synced = synced;
  }

  /** The etcd-like global revision: the `resourceVersion` of the latest write. */
  get revision(): number {
    return this.#revision;
  }

  // ── AssignedIdentityWriterPort ────────────────────────────────────────────────────────────────

  /**
   * Creates an AzureAssignedIdentity as the API server would: `invalid` when name or namespace is
   * empty or a `resourceVersion` is set ("resourceVersion should not be set on objects to be created"),
   * `conflict{alreadyExists: true}` when the name is taken. A fresh `uid` and `creationTimestamp` are
   * always assigned and any `deletionTimestamp` dropped. Emits `added`.
   */
  async create(identity: AzureAssignedIdentity): Promise<Result<AzureAssignedIdentity, KubeError>> {
    const { namespace, name, resourceVersion } = identity.metadata;
    const failure =
      this.#injected("create", identity) ??
      (name === "" || namespace === ""
        ? invalid("metadata.name and metadata.namespace are required")
        : resourceVersion !== undefined && resourceVersion !== ""
          ? invalid("metadata.resourceVersion: Invalid value: resourceVersion should not be set on objects to be created")
          : this.get(AAI, namespace, name) !== undefined
            ? conflict(name, true)
            : undefined);
    this.#counts.creates++;
    if (failure !== undefined) return this.#fail("create", identity, failure);
    const { deletionTimestamp: _ignored, uid: _clientUid, creationTimestamp: _clientCreation, ...metadata } = identity.metadata;
    const stored = this.#stamp({ ...identity, metadata: { ...metadata, generation: 1 } }, undefined);
    this.#map(AAI).set(keyOf(namespace, name), stored);
    this.#counts.apiRequests++;
    this.#record("create", identity, "ok", { resourceVersion: stored.metadata.resourceVersion ?? "" });
    this.#emit(AAI, { type: "added", object: stored });
    return ok(stored);
  }

  /**
   * Replaces spec, labels, annotations and finalizers, keeping the stored status, uid,
   * creationTimestamp and deletionTimestamp. `notFound` when absent; `conflict` when the sent
   * `resourceVersion` is stale (none sent = unconditional, as CRDs allow). Removing the last finalizer
   * of an object that is being deleted deletes it (`deleted` event), like the API server.
   */
  async update(identity: AzureAssignedIdentity): Promise<Result<AzureAssignedIdentity, KubeError>> {
    const { namespace, name } = identity.metadata;
    const current = this.get(AAI, namespace, name);
    const failure = this.#injected("update", identity) ?? this.#precondition(identity, current);
    this.#counts.updates++;
    if (failure !== undefined || current === undefined) return this.#fail("update", identity, failure ?? notFound(name));
    const specChanged = JSON.stringify(current.spec) !== JSON.stringify(identity.spec);
    const { deletionTimestamp: _clientDeletion, ...sentMeta } = identity.metadata;
    const metadata: ObjectMeta = {
      ...sentMeta,
      ...(current.metadata.deletionTimestamp !== undefined ? { deletionTimestamp: current.metadata.deletionTimestamp } : {}),
      generation: (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
    };
    const stored = this.#stamp({ ...identity, status: current.status, metadata }, current);
    this.#counts.apiRequests++;
    this.#record("update", identity, "ok", { resourceVersion: stored.metadata.resourceVersion ?? "" });
    if (stored.metadata.deletionTimestamp !== undefined && stored.metadata.finalizers.length === 0) {
      this.#map(AAI).delete(keyOf(namespace, name));
      this.#emit(AAI, { type: "deleted", object: stored });
    } else {
      this.#map(AAI).set(keyOf(namespace, name), stored);
      this.#emit(AAI, { type: "modified", object: stored, previous: current });
    }
    return ok(stored);
  }

  /**
   * Sets `status.status` on the stored object (nothing else of `identity` is applied); `notFound` when
   * absent, `conflict` when `identity.metadata.resourceVersion` is set and stale.
   */
  async setStatus(identity: AzureAssignedIdentity, status: AssignedIdentityState): Promise<Result<AzureAssignedIdentity, KubeError>> {
    const { namespace, name } = identity.metadata;
    const current = this.get(AAI, namespace, name);
    const failure = this.#injected("setStatus", identity) ?? this.#precondition(identity, current);
    this.#counts.statusUpdates++;
    if (failure !== undefined || current === undefined) {
      return this.#fail("setStatus", identity, failure ?? notFound(name), { status });
    }
    const stored = this.#stamp({ ...current, status }, current);
    this.#map(AAI).set(keyOf(namespace, name), stored);
    this.#counts.apiRequests++;
    this.#record("setStatus", identity, "ok", { resourceVersion: stored.metadata.resourceVersion ?? "", status });
    this.#emit(AAI, { type: "modified", object: stored, previous: current });
    return ok(stored);
  }

  /**
   * Deletes the object and drops its finalizers so it really goes (MIC's DELETE + finalizer-removing
   * PUT). With finalizers present, subscribers see `modified` (deletionTimestamp set) then `deleted`,
   * as from a real watch. A missing object is success. No resourceVersion precondition is applied.
   */
  async delete(identity: AzureAssignedIdentity): Promise<Result<void, KubeError>> {
    const { namespace, name } = identity.metadata;
    const failure = this.#injected("delete", identity);
    this.#counts.deletes++;
    if (failure !== undefined) return this.#fail("delete", identity, failure);
    const key = keyOf(namespace, name);
    const current = this.get(AAI, namespace, name);
    if (current === undefined) {
      this.#counts.apiRequests++;
      this.#record("delete", identity, "ok", { existed: false });
      return ok(undefined);
    }
    let last: AzureAssignedIdentity = current;
    if (current.metadata.finalizers.length > 0) {
      if (current.metadata.deletionTimestamp === undefined) {
        last = this.#stamp({ ...current, metadata: { ...current.metadata, deletionTimestamp: rfc3339(this.#clock.now()) } }, current);
        this.#map(AAI).set(key, last);
        this.#emit(AAI, { type: "modified", object: last, previous: current });
      }
      last = this.#stamp({ ...last, metadata: { ...last.metadata, finalizers: [] } }, last);
      this.#counts.apiRequests += 2;
    } else {
      this.#revision++;
      this.#counts.apiRequests++;
    }
    this.#map(AAI).delete(key);
    this.#record("delete", identity, "ok", { existed: true });
    this.#emit(AAI, { type: "deleted", object: last });
    return ok(undefined);
  }

  // ── Fault injection, counters, log ────────────────────────────────────────────────────────────

  /** Makes the next `n` writer calls (any operation) fail with `error`, before any other check. */
  failNextWrites(n: number, error: KubeError): void {
    for (let i = 0; i < n; i++) this.#failNext.push(error);
  }

  /**
   * Adds a predicate consulted on every writer call after {@link failNextWrites}; the first error
   * returned fails the call. Returns a function that removes the predicate.
   */
  injectWriteFault(fault: ClusterWriteFault): () => void {
    this.#faults.add(fault);
    return () => {
      this.#faults.delete(fault);
    };
  }

  /** Makes the next `n` {@link readSecret} calls fail with `error`. */
  failNextSecretReads(n: number, error: KubeError): void {
    for (let i = 0; i < n; i++) this.#secretFailures.push(error);
  }

  /** Writer calls so far, by operation. */
  writeCounts(): ClusterWriteCounts {
    return { ...this.#counts };
  }

  /** Number of {@link readSecret} calls so far. */
  get secretReads(): number {
    return this.#secretReads;
  }

  /** Every writer call so far, oldest first. */
  get writeLog(): readonly ClusterWriteLogEntry[] {
    return this.#log;
  }

  /** Clears counters and the write log (stored objects stay). */
  resetCounters(): void {
    this.#counts = { creates: 0, updates: 0, statusUpdates: 0, deletes: 0, failures: 0, apiRequests: 0 };
    this.#secretReads = 0;
    this.#log.length = 0;
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  #map(resource: WatchedResource): Map<string, AnyObject> {
    const map = this.#store.get(resource);
    if (map === undefined) throw new Error(`FakeCluster: unknown resource ${String(resource)}`);
    return map;
  }

  #handlersOf(resource: WatchedResource): Set<Handler> {
    const set = this.#handlers.get(resource);
    if (set === undefined) throw new Error(`FakeCluster: unknown resource ${String(resource)}`);
    return set;
  }

  #stamp<T extends AnyObject>(object: T, previous: T | undefined): T {
    const meta = object.metadata;
    const metadata: ObjectMeta = {
      ...meta,
      uid: previous?.metadata.uid ?? meta.uid ?? fakeGuid(`uid/${++this.#uidCounter}`),
      creationTimestamp: previous?.metadata.creationTimestamp ?? meta.creationTimestamp ?? rfc3339(this.#clock.now()),
      resourceVersion: String(++this.#revision),
    };
    return { ...object, metadata };
  }

  #emit(resource: WatchedResource, event: ResourceEvent<AnyObject>): void {
    for (const handler of [...this.#handlersOf(resource)]) {
      if (this.#delivery === "sync") handler(event);
      else queueMicrotask(() => handler(event));
    }
  }

  #injected(op: ClusterWriteOp, identity: AzureAssignedIdentity): KubeError | undefined {
    const queued = this.#failNext.shift();
    if (queued !== undefined) return queued;
    for (const fault of this.#faults) {
      const error = fault(op, identity);
      if (error !== undefined) return error;
    }
    return undefined;
  }

  #precondition(sent: AzureAssignedIdentity, current: AzureAssignedIdentity | undefined): KubeError | undefined {
    if (current === undefined) return notFound(sent.metadata.name);
    const rv = sent.metadata.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== current.metadata.resourceVersion) return conflict(sent.metadata.name, false);
    return undefined;
  }

  #fail<T>(
    op: ClusterWriteOp,
    identity: AzureAssignedIdentity,
    error: KubeError,
    extra: { status?: AssignedIdentityState } = {},
  ): Result<T, KubeError> {
    this.#counts.failures++;
    this.#record(op, identity, error.kind, extra);
    return err(error);
  }

  #record(
    op: ClusterWriteOp,
    identity: AzureAssignedIdentity,
    outcome: ClusterWriteLogEntry["outcome"],
    extra: { resourceVersion?: string; status?: AssignedIdentityState; existed?: boolean },
  ): void {
    const sent = identity.metadata.resourceVersion;
    this.#log.push({
      seq: this.#log.length + 1,
      op,
      namespace: identity.metadata.namespace,
      name: identity.metadata.name,
      outcome,
      ...(sent !== undefined && sent !== "" ? { sentResourceVersion: sent } : {}),
      ...extra,
    });
  }
}

function conflict(name: string, alreadyExists: boolean): KubeError {
  return {
    kind: "conflict",
    alreadyExists,
    message: alreadyExists
      ? `azureassignedidentities.aadpodidentity.k8s.io "${name}" already exists`
      : `Operation cannot be fulfilled on azureassignedidentities.aadpodidentity.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  };
}

function notFound(name: string): KubeError {
  return { kind: "notFound", message: `azureassignedidentities.aadpodidentity.k8s.io "${name}" not found` };
}

function invalid(message: string): KubeError {
  return { kind: "invalid", message };
}
