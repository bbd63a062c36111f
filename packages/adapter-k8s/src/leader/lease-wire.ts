import { V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import type { LeaseRecord } from "@podid/core";

/**
 * Milliseconds of a Lease timestamp. client-node declares `acquireTime`/`renewTime` as `V1MicroTime`
 * (a `Date`), but its deserialiser does not know that type and hands over the raw RFC 3339 string with
 * microseconds (`2024-05-01T10:00:00.123456Z`); both forms are accepted. Missing or unparsable → 0
 * (the epoch: such a lease counts as long expired, which is what client-go assumes of a zero time).
 */
export function leaseTimeMs(value: unknown): number {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 0 : value.getTime();
  if (typeof value !== "string") return 0;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? 0 : ms;
}

/** The {@link LeaseRecord} of a Lease read from the API (absent fields as client-go reads them: empty/zero). */
export function leaseRecordFromLease(lease: V1Lease): LeaseRecord {
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
 * The Lease object to write for `record`: times as `V1MicroTime`, which serialises with the microsecond
 * precision the API server requires for `MicroTime` fields; `resourceVersion` only when known (update).
 */
export function leaseFromRecord(name: string, namespace: string, record: Omit<LeaseRecord, "resourceVersion"> & { readonly resourceVersion?: string }): V1Lease {
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
      acquireTime: new V1MicroTime(record.acquireTime),
      renewTime: new V1MicroTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}
