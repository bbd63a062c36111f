import { err, ok, type ClockPort, type KubeError, type LeaseRecord, type LeaseStorePort, type Result } from "@podid/core";

/** Lease operations, for fault targeting and the write log. */
export type LeaseOp = "read" | "create" | "update";

/** One call as recorded in {@link FakeLeaseStore.log}. */
export interface LeaseLogEntry {
  readonly seq: number;
  /** The client name (`default` for calls made on the store itself). */
  readonly client: string;
  readonly op: LeaseOp;
  /** `ok`, or the kind of the error returned. */
  readonly outcome: "ok" | KubeError["kind"];
  /** The holder written by a successful create/update, or read. */
  readonly holderIdentity?: string;
  /** Clock time when the server handled the call (0 without a clock). */
  readonly atMs: number;
}

/** Counters of {@link FakeLeaseStore}. */
export interface LeaseCounts {
  readonly reads: number;
  readonly creates: number;
  readonly updates: number;
  /** Creates/updates that lost the race (`conflict`). */
  readonly conflicts: number;
  /** Calls failed by injected faults or partitions. */
  readonly injectedFailures: number;
}

/** Latency of one client, in virtual milliseconds. */
export interface LeaseLatency {
  /** Before the server handles the call (default 0). */
  readonly latencyMs?: number;
  /** After the server handled it, before the caller sees the answer (default 0) — a write can commit and still look late. */
  readonly responseLatencyMs?: number;
}

/** Options of {@link FakeLeaseStore}. */
export interface FakeLeaseStoreOptions extends LeaseLatency {
  /** Clock for latencies and log times; latencies need one. */
  readonly clock?: ClockPort;
  /** Lease name used in error messages (default `podid-mic`). */
  readonly leaseName?: string;
}

interface Fault {
  readonly error: KubeError;
  readonly ops: readonly LeaseOp[];
}

const ALL_OPS: readonly LeaseOp[] = ["read", "create", "update"];

/**
 * One elector's connection to a {@link FakeLeaseStore}: a {@link LeaseStorePort} with its own faults,
 * latency and network partition, sharing the lease with every other client.
 */
export class FakeLeaseClient implements LeaseStorePort {
  readonly #store: FakeLeaseStore;
  readonly #latency: LeaseLatency;
  readonly #failures: Fault[] = [];
  #partitioned = false;

  /** The client's name, as shown in the store's log. */
  readonly name: string;

  /** Use {@link FakeLeaseStore.client} to create clients. */
  constructor(store: FakeLeaseStore, name: string, latency: LeaseLatency) {
    this.#store = store;
    this.name = name;
    this.#latency = latency;
  }

  /** Cuts this client off (every call fails with `transient`) or heals it. */
  partition(cut: boolean): void {
    this.#partitioned = cut;
  }

  /** Makes this client's next `n` calls (optionally only `ops`) fail with `error`. */
  failNext(n: number, error: KubeError, ops: readonly LeaseOp[] = ALL_OPS): void {
    for (let i = 0; i < n; i++) this.#failures.push({ error, ops });
  }

  /** Reads the lease. */
  read(): Promise<Result<LeaseRecord | undefined, KubeError>> {
    return this.#call("read", () => this.#store.serverRead(this.name));
  }

  /** Creates the lease; `conflict{alreadyExists}` when it exists. */
  create(record: Omit<LeaseRecord, "resourceVersion">): Promise<Result<LeaseRecord, KubeError>> {
    return this.#call("create", () => this.#store.serverCreate(this.name, record));
  }

  /** Replaces the lease when `record.resourceVersion` is current; `conflict` otherwise. */
  update(record: LeaseRecord): Promise<Result<LeaseRecord, KubeError>> {
    return this.#call("update", () => this.#store.serverUpdate(this.name, record));
  }

  async #call<T>(op: LeaseOp, handle: () => Result<T, KubeError>): Promise<Result<T, KubeError>> {
    await this.#store.delay(this.#latency.latencyMs ?? 0);
    const index = this.#failures.findIndex((f) => f.ops.includes(op));
    const injected = index >= 0 ? this.#failures.splice(index, 1)[0]?.error : undefined;
    const error =
      injected ??
      (this.#partitioned ? ({ kind: "transient", message: "dial tcp: connect: connection refused" } as const) : undefined) ??
      this.#store.storeFault(op);
    const result = error !== undefined ? this.#store.recordInjected<T>(this.name, op, error) : handle();
    await this.#store.delay(this.#latency.responseLatencyMs ?? 0);
    return result;
  }
}

/**
 * An in-memory `coordination.k8s.io/v1` Lease implementing {@link LeaseStorePort} with the API server's
 * optimistic concurrency: every successful write gets a new `resourceVersion`, `create` fails with
 * `conflict{alreadyExists: true}` when the lease exists, and `update` with a stale `resourceVersion`
 * fails with `conflict`. Several electors share one store through {@link client}, each with its own
 * latency, faults and partition, so tests can stage split-brain attempts, lost races and slow renewals.
 * The store itself is also a port (client `default`).
 */
export class FakeLeaseStore implements LeaseStorePort {
  readonly #options: FakeLeaseStoreOptions;
  readonly #default: FakeLeaseClient;
  readonly #failures: Fault[] = [];
  readonly #log: LeaseLogEntry[] = [];
  #lease: LeaseRecord | undefined;
  #revision = 0;
  #counts = { reads: 0, creates: 0, updates: 0, conflicts: 0, injectedFailures: 0 };

  /** Creates a store without a lease. */
  constructor(options: FakeLeaseStoreOptions = {}) {
    this.#options = options;
    this.#default = new FakeLeaseClient(this, "default", options);
  }

  /** A new client (one per elector), with its own latency (default: the store's). */
  client(name: string, latency: LeaseLatency = this.#options): FakeLeaseClient {
    return new FakeLeaseClient(this, name, latency);
  }

  /** Reads the lease through the default client. */
  read(): Promise<Result<LeaseRecord | undefined, KubeError>> {
    return this.#default.read();
  }

  /** Creates the lease through the default client. */
  create(record: Omit<LeaseRecord, "resourceVersion">): Promise<Result<LeaseRecord, KubeError>> {
    return this.#default.create(record);
  }

  /** Updates the lease through the default client. */
  update(record: LeaseRecord): Promise<Result<LeaseRecord, KubeError>> {
    return this.#default.update(record);
  }

  /** The stored lease right now (no latency, not counted). */
  current(): LeaseRecord | undefined {
    return this.#lease;
  }

  /** Writes the lease behind every client's back (`kubectl edit`, another controller version). */
  setOutOfBand(record: Omit<LeaseRecord, "resourceVersion">): LeaseRecord {
    this.#lease = { ...record, resourceVersion: String(++this.#revision) };
    return this.#lease;
  }

  /** Deletes the lease behind every client's back. */
  deleteOutOfBand(): void {
    this.#lease = undefined;
    this.#revision++;
  }

  /** Makes the next `n` calls of any client (optionally only `ops`) fail with `error`. */
  failNext(n: number, error: KubeError, ops: readonly LeaseOp[] = ALL_OPS): void {
    for (let i = 0; i < n; i++) this.#failures.push({ error, ops });
  }

  /** Calls so far. */
  counts(): LeaseCounts {
    return { ...this.#counts };
  }

  /** Every call that reached the store (or was failed by a fault), oldest first. */
  get log(): readonly LeaseLogEntry[] {
    return this.#log;
  }

  /** The holders of every successful create/update in order: the leadership history. */
  holderHistory(): readonly string[] {
    return this.#log.filter((e) => e.op !== "read" && e.outcome === "ok").map((e) => e.holderIdentity ?? "");
  }

  // ── used by FakeLeaseClient ───────────────────────────────────────────────────────────────────

  /** @internal Server side of `read`. */
  serverRead(client: string): Result<LeaseRecord | undefined, KubeError> {
    this.#counts.reads++;
    this.#push(client, "read", "ok", this.#lease?.holderIdentity);
    return ok(this.#lease);
  }

  /** @internal Server side of `create`. */
  serverCreate(client: string, record: Omit<LeaseRecord, "resourceVersion">): Result<LeaseRecord, KubeError> {
    this.#counts.creates++;
    if (this.#lease !== undefined) {
      this.#counts.conflicts++;
      this.#push(client, "create", "conflict");
      return err({ kind: "conflict", alreadyExists: true, message: `leases.coordination.k8s.io "${this.#name()}" already exists` });
    }
    this.#lease = { ...record, resourceVersion: String(++this.#revision) };
    this.#push(client, "create", "ok", record.holderIdentity);
    return ok(this.#lease);
  }

  /** @internal Server side of `update`. */
  serverUpdate(client: string, record: LeaseRecord): Result<LeaseRecord, KubeError> {
    this.#counts.updates++;
    if (this.#lease === undefined) {
      this.#push(client, "update", "notFound");
      return err({ kind: "notFound", message: `leases.coordination.k8s.io "${this.#name()}" not found` });
    }
    if (record.resourceVersion !== this.#lease.resourceVersion) {
      this.#counts.conflicts++;
      this.#push(client, "update", "conflict");
      return err({
        kind: "conflict",
        alreadyExists: false,
        message: `Operation cannot be fulfilled on leases.coordination.k8s.io "${this.#name()}": the object has been modified; please apply your changes to the latest version and try again`,
      });
    }
    this.#lease = { ...record, resourceVersion: String(++this.#revision) };
    this.#push(client, "update", "ok", record.holderIdentity);
    return ok(this.#lease);
  }

  /** @internal The next store-wide fault for `op`, if any. */
  storeFault(op: LeaseOp): KubeError | undefined {
    const index = this.#failures.findIndex((f) => f.ops.includes(op));
    return index >= 0 ? this.#failures.splice(index, 1)[0]?.error : undefined;
  }

  /** @internal Records a call failed by a fault. */
  recordInjected<T>(client: string, op: LeaseOp, error: KubeError): Result<T, KubeError> {
    this.#counts.injectedFailures++;
    this.#push(client, op, error.kind);
    return err(error);
  }

  /** @internal Waits `ms` on the clock (or one microtask without clock/latency). */
  async delay(ms: number): Promise<void> {
    const clock = this.#options.clock;
    if (clock !== undefined && ms > 0) await clock.sleep(ms);
    else await Promise.resolve();
  }

  #name(): string {
    return this.#options.leaseName ?? "podid-mic";
  }

  #push(client: string, op: LeaseOp, outcome: LeaseLogEntry["outcome"], holderIdentity?: string): void {
    this.#log.push({
      seq: this.#log.length + 1,
      client,
      op,
      outcome,
      ...(holderIdentity !== undefined ? { holderIdentity } : {}),
      atMs: this.#options.clock?.now() ?? 0,
    });
  }
}
