import {
  DEFAULT_LEASE_DURATION_MS,
  defaultLeaderElectionConfig,
  type ClockPort,
  type LoggerPort,
  type MetricsPort,
} from "@podid/core";
import type { KubeClient } from "../client/kube-client.js";
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
 * MIC's leader election with the original's defaults (`default/aad-pod-identity-mic`, 15 s / 7.5 s /
 * 3.75 s), on a Lease. The Lease traffic gets a client with its own rate limit, so AzureAssignedIdentity
 * write bursts can never delay a renewal, and each Lease request is bounded by the retry period.
 */
export function createMicLeaderElector(options: MicLeaderElectionOptions): LeaderElector {
  const base = defaultLeaderElectionConfig(options.identity, options.durationMs ?? DEFAULT_LEASE_DURATION_MS);
  const config = {
    ...base,
    ...(options.lockName !== undefined ? { lockName: options.lockName } : {}),
    ...(options.lockNamespace !== undefined ? { lockNamespace: options.lockNamespace } : {}),
  };
  const store = new KubeLeaseStore({
    client: options.client.withOwnRateLimit(),
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
