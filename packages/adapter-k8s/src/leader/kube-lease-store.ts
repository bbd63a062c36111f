import { err, ok, type KubeError, type LeaseRecord, type LeaseStorePort, type Result } from "@podid/core";
import { callKube } from "../client/kube-call.js";
import type { KubeClient } from "../client/kube-client.js";
import { leaseFromRecord, leaseRecordFromLease } from "./lease-wire.js";

/** Settings of a {@link KubeLeaseStore}. */
export interface KubeLeaseStoreOptions {
  /** Preferably a client of its own ({@link KubeClient.withOwnRateLimit}) so other traffic cannot delay renewals. */
  readonly client: KubeClient;
  readonly name: string;
  readonly namespace: string;
  /**
   * Deadline of each Lease request. A renewal that hangs longer than the renew deadline is useless, so
   * drivers pass about the retry period; the elector's own deadline timer ends leadership regardless.
   */
  readonly requestTimeoutMs?: number;
}

/**
 * core's {@link LeaseStorePort} on a `coordination.k8s.io/v1` Lease via `CoordinationV1Api`: read
 * (404 → absent), create (409 → `conflict` with `alreadyExists`: another candidate created it first) and
 * replace with `metadata.resourceVersion` (409 → `conflict`: the race was lost). 429 answers are not
 * retried here — the elector's retry period is the retry.
 */
export class KubeLeaseStore implements LeaseStorePort {
  readonly #client: KubeClient;
  readonly #name: string;
  readonly #namespace: string;
  readonly #requestTimeoutMs: number | undefined;

  /** A store for the Lease `options.namespace/options.name`. */
  constructor(options: KubeLeaseStoreOptions) {
    this.#client = options.client;
    this.#name = options.name;
    this.#namespace = options.namespace;
    this.#requestTimeoutMs = options.requestTimeoutMs;
  }

  /** GETs the Lease; a 404 is `ok(undefined)`. */
  async read(): Promise<Result<LeaseRecord | undefined, KubeError>> {
    const read = await this.#call(() => this.#client.coordination.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, this.#options()));
    if (read.ok) return ok(leaseRecordFromLease(read.value));
    return read.error.kind === "notFound" ? ok(undefined) : read;
  }

  /** POSTs a new Lease; 409 → `conflict` (`alreadyExists`): another candidate was first. */
  async create(record: Omit<LeaseRecord, "resourceVersion">): Promise<Result<LeaseRecord, KubeError>> {
    const body = leaseFromRecord(this.#name, this.#namespace, record);
    const created = await this.#call(() => this.#client.coordination.createNamespacedLease({ namespace: this.#namespace, body }, this.#options()));
    return created.ok ? ok(leaseRecordFromLease(created.value)) : created;
  }

  /** PUTs the Lease guarded by `record.resourceVersion`; 409 → `conflict`: the race was lost. */
  async update(record: LeaseRecord): Promise<Result<LeaseRecord, KubeError>> {
    if (record.resourceVersion === "") return err({ kind: "invalid", message: "a Lease update needs the resourceVersion it was read at" });
    const body = leaseFromRecord(this.#name, this.#namespace, record);
    const replaced = await this.#call(() =>
      this.#client.coordination.replaceNamespacedLease({ name: this.#name, namespace: this.#namespace, body }, this.#options()),
    );
    return replaced.ok ? ok(leaseRecordFromLease(replaced.value)) : replaced;
  }

  #options(): ReturnType<KubeClient["deadlineOptions"]> | undefined {
    return this.#requestTimeoutMs === undefined ? undefined : this.#client.deadlineOptions(this.#requestTimeoutMs);
  }

  #call<T>(call: () => Promise<T>): Promise<Result<T, KubeError>> {
    return callKube(this.#client.clock, call, { maxRetries: 0 });
  }
}
