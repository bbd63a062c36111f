import type { Result } from "../result.js";
import type { KubeError } from "./kube-errors.js";

/** The fields of a `coordination.k8s.io/v1` Lease that leader election uses. */
export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  /** Milliseconds since the epoch. */
  readonly acquireTime: number;
  /** Milliseconds since the epoch. */
  readonly renewTime: number;
  readonly leaseTransitions: number;
  /** Opaque version for optimistic concurrency; a write with a stale one fails with `conflict`. */
  readonly resourceVersion: string;
}

/** Reads and writes the election Lease (adapter-k8s: CoordinationV1Api). */
export interface LeaseStorePort {
  /** The lease, or `undefined` when it does not exist. */
  read(): Promise<Result<LeaseRecord | undefined, KubeError>>;
  /** Creates the lease; `conflict` when someone else created it first. */
  create(record: Omit<LeaseRecord, "resourceVersion">): Promise<Result<LeaseRecord, KubeError>>;
  /** Replaces the lease if `record.resourceVersion` is current; `conflict` when the race was lost. */
  update(record: LeaseRecord): Promise<Result<LeaseRecord, KubeError>>;
}
