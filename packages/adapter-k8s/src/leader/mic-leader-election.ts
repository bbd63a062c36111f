import {
  DEFAULT_LEASE_DURATION_MS,
  defaultLeaderElectionConfig,
  type ClockPort,
  type LoggerPort,
  type MetricsPort,
} from "@podid/core";
import { DEFAULT_CLIENT_QPS, type KubeClient } from "../client/kube-client.js";
import { KubeLeaseStore } from "./kube-lease-store.js";
import { LeaderElector } from "./leader-elector.js";

/** Settings of {@link createMicLeaderElector}, named after MIC's flags. */
export interface MicLeaderElectionOptions {
  readonly client: KubeClient;
  /** `--leader-election-instance`: this candidate's holder identity (the original used the pod hostname). */
  readonly identity: string;
  /** `--leader-election-duration` (default 15 s; renew deadline = d/2, retry period = d/4). */
  readonly durationMs?: number;
  /** `--leader-election-name` (default `aad-pod-identity-mic`). */
  readonly lockName?: string;
  /** `--leader-election-namespace` (default `default`). */
  readonly lockNamespace?: string;
  readonly clock?: ClockPort;
  readonly logger?: LoggerPort;
  readonly metrics?: MetricsPort;
}

/**
 * The Lease client's rate: the election's own traffic (a read and a write per retry period) with four
 * requests per retry period to spare, and never below the client default. A fixed 5 QPS is enough at the
 * default 15 s lease but throttles a 1 s lease's 8 requests/s into losing leadership every few hundred ms.
 */
export function leaseClientQps(retryPeriodMs: number): number {
  return Math.max(DEFAULT_CLIENT_QPS, Math.ceil((4 * 1000) / retryPeriodMs));
}

/**
 * MIC's leader election with the original's defaults (`default/aad-pod-identity-mic`, 15 s / 7.5 s /
 * 3.75 s), on a Lease. The Lease traffic gets a client with its own rate limit ({@link leaseClientQps}),
 * so neither AzureAssignedIdentity write bursts nor a short lease can delay a renewal past the renew
 * deadline, and each Lease request is bounded by the retry period.
 */
export function createMicLeaderElector(options: MicLeaderElectionOptions): LeaderElector {
  const base = defaultLeaderElectionConfig(options.identity, options.durationMs ?? DEFAULT_LEASE_DURATION_MS);
  const config = {
    ...base,
    ...(options.lockName !== undefined ? { lockName: options.lockName } : {}),
    ...(options.lockNamespace !== undefined ? { lockNamespace: options.lockNamespace } : {}),
  };
  const store = new KubeLeaseStore({
    client: options.client.withOwnRateLimit({ qps: leaseClientQps(config.retryPeriodMs) }),
    name: config.lockName,
    namespace: config.lockNamespace,
    requestTimeoutMs: config.retryPeriodMs,
  });
  return new LeaderElector({
    store,
    config,
    clock: options.clock ?? options.client.clock,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
  });
}
