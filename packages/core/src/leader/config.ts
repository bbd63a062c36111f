import type { Result } from "../result.js";
import { err, ok } from "../result.js";

/** Name of the lock object aad-pod-identity's MIC elects on (`--leader-election-name` default, `pkg/mic/mic.go`). */
export const MIC_LEADER_ELECTION_LOCK_NAME = "aad-pod-identity-mic";
/**
 * Namespace of that lock (`--leader-election-namespace` default). Note it is `default`, not MIC's
 * own namespace, unless overridden; kept so existing flags and chart values mean the same thing. (The
 * original locked an Endpoints object, podid a Lease, so the two do not exclude each other: never run
 * both MICs at once.)
 */
export const MIC_LEADER_ELECTION_NAMESPACE = "default";
/** `--leader-election-duration` default: 15 s. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
/**
 * client-go's `JitterFactor`: it requires `renewDeadline > 1.2 × retryPeriod` so a jittered retry
 * still fits inside the renew deadline; podid keeps the same rule so drivers may jitter too.
 */
export const RETRY_JITTER_FACTOR = 1.2;

/** Lease-based leader election settings, with client-go's meanings. */
export interface LeaderElectionConfig {
  /** This candidate's holder identity (MIC: `--leader-election-instance`, default the pod hostname). */
  readonly identity: string;
  /** The Lease object's name and namespace (for the adapter; the state machine does not read them). */
  readonly lockName: string;
  readonly lockNamespace: string;
  /** How long followers wait after the last renewal before taking over. */
  readonly leaseDurationMs: number;
  /** How long a leader keeps leading after its last successful renewal; must be below `leaseDurationMs`. */
  readonly renewDeadlineMs: number;
  /** Time between attempts, for followers and for the leader's renewals. */
  readonly retryPeriodMs: number;
}

/** Why a {@link LeaderElectionConfig} is unusable. */
export type LeaderElectionConfigError =
  | { readonly kind: "emptyIdentity" }
  | { readonly kind: "nonPositiveDuration"; readonly field: "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs" }
  /** The safety margin: a cut-off leader must stop before anyone else may take over. */
  | { readonly kind: "renewDeadlineNotBelowLeaseDuration" }
  | { readonly kind: "retryPeriodTooLong" };

/**
 * The settings aad-pod-identity's MIC used (`NewLeaderElector`): lease `durationMs`, renew deadline
 * half of it, retry period a quarter (15 s / 7.5 s / 3.75 s by default), on the lock
 * `default/aad-pod-identity-mic`. podid uses a Lease where the original used an Endpoints lock.
 */
export function defaultLeaderElectionConfig(identity: string, durationMs: number = DEFAULT_LEASE_DURATION_MS): LeaderElectionConfig {
  return {
    identity,
    lockName: MIC_LEADER_ELECTION_LOCK_NAME,
    lockNamespace: MIC_LEADER_ELECTION_NAMESPACE,
    leaseDurationMs: durationMs,
    renewDeadlineMs: Math.floor(durationMs / 2),
    retryPeriodMs: Math.floor(durationMs / 4),
  };
}

/**
 * Checks client-go's rules: positive durations, `leaseDuration > renewDeadline` (the margin by which
 * a partitioned leader stops before a follower may acquire) and `renewDeadline > 1.2 × retryPeriod`.
 */
export function validateLeaderElectionConfig(config: LeaderElectionConfig): Result<LeaderElectionConfig, LeaderElectionConfigError> {
  if (config.identity.length === 0) return err({ kind: "emptyIdentity" });
  for (const field of ["leaseDurationMs", "renewDeadlineMs", "retryPeriodMs"] as const) {
    if (!(config[field] > 0) || !Number.isFinite(config[field])) return err({ kind: "nonPositiveDuration", field });
  }
  if (config.renewDeadlineMs >= config.leaseDurationMs) return err({ kind: "renewDeadlineNotBelowLeaseDuration" });
  if (config.renewDeadlineMs <= RETRY_JITTER_FACTOR * config.retryPeriodMs) return err({ kind: "retryPeriodTooLong" });
  return ok(config);
}
