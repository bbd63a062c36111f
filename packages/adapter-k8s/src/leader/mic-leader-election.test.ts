import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultLeaderElectionConfig } from "@podid/core";
import { DEFAULT_CLIENT_QPS } from "../client/kube-client.js";
import { leaseClientQps } from "./mic-leader-election.js";

describe("leaseClientQps", () => {
  it("keeps the client default for the original's 15 s lease and grows for short leases", () => {
    expect(leaseClientQps(defaultLeaderElectionConfig("mic", 15_000).retryPeriodMs)).toBe(DEFAULT_CLIENT_QPS);
    expect(leaseClientQps(defaultLeaderElectionConfig("mic", 1_000).retryPeriodMs)).toBe(16);
  });

  it("always leaves room for the election's own read and write per retry period, and more", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 120_000 }), (durationMs) => {
        const { retryPeriodMs } = defaultLeaderElectionConfig("mic", durationMs);
        const qps = leaseClientQps(retryPeriodMs);
        expect(qps).toBeGreaterThanOrEqual(DEFAULT_CLIENT_QPS);
        // Requests the election needs per second (2 per retry period) with a factor of 2 to spare.
        expect(qps).toBeGreaterThanOrEqual((2 * 2 * 1000) / retryPeriodMs);
      }),
    );
  });
});
