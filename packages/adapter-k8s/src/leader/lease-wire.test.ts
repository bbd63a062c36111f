import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { V1Lease } from "@kubernetes/client-node";
import { leaseFromRecord, leaseRecordFromLease, leaseTimeMs } from "./lease-wire.js";

describe("lease wire mapping", () => {
  it("round-trips a record through the JSON the API server stores (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          holderIdentity: fc.string({ maxLength: 20 }),
          leaseDurationSeconds: fc.integer({ min: 1, max: 3600 }),
          acquireTime: fc.integer({ min: 0, max: 4_000_000_000_000 }),
          renewTime: fc.integer({ min: 0, max: 4_000_000_000_000 }),
          leaseTransitions: fc.nat({ max: 1000 }),
          resourceVersion: fc.stringMatching(/^[0-9]{1,8}$/),
        }),
        (record) => {
          const wire = JSON.parse(JSON.stringify(leaseFromRecord("lock", "default", record))) as V1Lease & { spec: { renewTime: string } };
          // MicroTime on the wire: six fractional digits.
          expect(wire.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
          expect(wire.metadata?.resourceVersion).toBe(record.resourceVersion);
          expect(leaseRecordFromLease(wire)).toEqual(record);
        },
      ),
    );
  });

  it("reads Date, microsecond strings and garbage", () => {
    expect(leaseTimeMs(new Date(5))).toBe(5);
    expect(leaseTimeMs("2024-05-01T10:00:00.123456Z")).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 123));
    expect(leaseTimeMs("yesterday")).toBe(0);
    expect(leaseTimeMs(undefined)).toBe(0);
    expect(leaseRecordFromLease({})).toEqual({ holderIdentity: "", leaseDurationSeconds: 0, acquireTime: 0, renewTime: 0, leaseTransitions: 0, resourceVersion: "" });
  });
});
