import type { LeaseRecord } from "@podid/core";

/** The parts of a `coordination.k8s.io/v1` Lease podid reads and writes (wire JSON). */
export interface LeaseWire {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string };
  readonly spec?: {
    readonly holderIdentity?: string;
    readonly leaseDurationSeconds?: number;
    readonly acquireTime?: unknown;
    readonly renewTime?: unknown;
    readonly leaseTransitions?: number;
  };
}

/**
 * A `MicroTime` as the API server requires it: RFC 3339 with exactly six fractional digits
 * (`2024-05-01T10:00:00.123000Z`); JavaScript times have millisecond precision.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Milliseconds of a Lease timestamp: the raw RFC 3339 string with microseconds
 * (`2024-05-01T10:00:00.123456Z`) the API returns, or a `Date`; both forms are accepted. Missing or unparsable → 0
 * (the epoch: such a lease counts as long expired, which is what client-go assumes of a zero time).
 */
export function leaseTimeMs(value: unknown): number {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 0 : value.getTime();
  if (typeof value !== "string") return 0;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? 0 : ms;
}

/** The {@link LeaseRecord} of a Lease read from the API (absent fields as client-go reads them: empty/zero). */
export function leaseRecordFromLease(lease: LeaseWire): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: leaseTimeMs(spec.acquireTime),
    renewTime: leaseTimeMs(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? "",
  };
}

/**
 * The Lease object to write for `record`: times as {@link microTime} strings, with the microsecond
 * precision the API server requires for `MicroTime` fields; `resourceVersion` only when known (update).
 */
export function leaseFromRecord(name: string, namespace: string, record: Omit<LeaseRecord, "resourceVersion"> & { readonly resourceVersion?: string }): LeaseWire {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      namespace,
      ...(record.resourceVersion !== undefined && record.resourceVersion !== "" ? { resourceVersion: record.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: microTime(record.acquireTime),
      renewTime: microTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}
