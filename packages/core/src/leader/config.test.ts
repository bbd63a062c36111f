import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  defaultLeaderElectionConfig,
  MIC_LEADER_ELECTION_LOCK_NAME,
  MIC_LEADER_ELECTION_NAMESPACE,
  validateLeaderElectionConfig,
} from "./config.js";

describe("leader election config", () => {
  it("mirrors aad-pod-identity's MIC: default/aad-pod-identity-mic, 15 s / 7.5 s / 3.75 s", () => {
    expect(MIC_LEADER_ELECTION_LOCK_NAME).toBe("aad-pod-identity-mic");
    expect(MIC_LEADER_ELECTION_NAMESPACE).toBe("default");
    expect(defaultLeaderElectionConfig("mic-0")).toEqual({
      identity: "mic-0",
      lockName: "aad-pod-identity-mic",
      lockNamespace: "default",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 7_500,
      retryPeriodMs: 3_750,
    });
  });

  it("derives valid settings from any duration of at least 4 ms", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 10_000_000 }), (d) => {
        const config = defaultLeaderElectionConfig("mic", d);
        expect(validateLeaderElectionConfig(config)).toEqual({ ok: true, value: config });
        expect(config.renewDeadlineMs).toBeLessThan(config.leaseDurationMs);
      }),
    );
  });

  it("accepts exactly the configs with client-go's margins", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 3 }),
        fc.integer({ min: -10, max: 100 }),
        fc.integer({ min: -10, max: 100 }),
        fc.integer({ min: -10, max: 100 }),
        (identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs) => {
          const config = { ...defaultLeaderElectionConfig(identity), leaseDurationMs, renewDeadlineMs, retryPeriodMs };
          const valid =
            identity !== "" &&
            leaseDurationMs > 0 &&
            renewDeadlineMs > 0 &&
            retryPeriodMs > 0 &&
            renewDeadlineMs < leaseDurationMs &&
            renewDeadlineMs > 1.2 * retryPeriodMs;
          expect(validateLeaderElectionConfig(config).ok).toBe(valid);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("names the broken rule", () => {
    const base = defaultLeaderElectionConfig("mic");
    expect(validateLeaderElectionConfig({ ...base, identity: "" })).toEqual({ ok: false, error: { kind: "emptyIdentity" } });
    expect(validateLeaderElectionConfig({ ...base, retryPeriodMs: 0 })).toEqual({
      ok: false,
      error: { kind: "nonPositiveDuration", field: "retryPeriodMs" },
    });
    expect(validateLeaderElectionConfig({ ...base, renewDeadlineMs: 15_000 })).toEqual({
      ok: false,
      error: { kind: "renewDeadlineNotBelowLeaseDuration" },
    });
    expect(validateLeaderElectionConfig({ ...base, retryPeriodMs: 7_000 })).toEqual({ ok: false, error: { kind: "retryPeriodTooLong" } });
  });
});
