import { err, ok, type KubeError, type LeaseRecord, type LeaseStorePort, type Result } from "@podid/core";
import { callKube } from "../client/kube-call.js";
import type { KubeClient } from "../client/kube-client.js";
import type { KubeHttpRequest } from "../client/kube-http.js";
import { leaseFromRecord, leaseRecordFromLease, type LeaseWire } from "./lease-wire.js";

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
 * core's {@link LeaseStorePort} on a `coordination.k8s.io/v1` Lease over raw requests: read
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
    const read = await this.#call({ method: "GET", path: this.#item() });
    if (read.ok) return ok(leaseRecordFromLease(read.value));
    return read.error.kind === "notFound" ? ok(undefined) : read;
  }

  /** POSTs a new Lease; 409 → `conflict` (`alreadyExists`): another candidate was first. */
  async create(record: Omit<LeaseRecord, "resourceVersion">): Promise<Result<LeaseRecord, KubeError>> {
    const body = leaseFromRecord(this.#name, this.#namespace, record);
    const created = await this.#call({ method: "POST", path: this.#collection(), body });
    return created.ok ? ok(leaseRecordFromLease(created.value)) : created;
  }

  /** PUTs the Lease guarded by `record.resourceVersion`; 409 → `conflict`: the race was lost. */
  async update(record: LeaseRecord): Promise<Result<LeaseRecord, KubeError>> {
    if (record.resourceVersion === "") return err({ kind: "invalid", message: "a Lease update needs the resourceVersion it was read at" });
    const body = leaseFromRecord(this.#name, this.#namespace, record);
    const replaced = await this.#call({ method: "PUT", path: this.#item(), body });
    return replaced.ok ? ok(leaseRecordFromLease(replaced.value)) : replaced;
  }

  #collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#namespace)}/leases`;
  }

  #item(): string {
    return `${this.#collection()}/${encodeURIComponent(this.#name)}`;
  }

  async #call(request: KubeHttpRequest): Promise<Result<LeaseWire, KubeError>> {
    const timeout = this.#requestTimeoutMs === undefined ? {} : { timeoutMs: this.#requestTimeoutMs };
    const answer = await callKube(this.#client.clock, () => this.#client.request(request, timeout), { maxRetries: 0 });
    if (!answer.ok) return answer;
    return typeof answer.value === "object" && answer.value !== null ? ok(answer.value as LeaseWire) : err({ kind: "invalid", message: "the API server returned a non-object Lease" });
  }
}
