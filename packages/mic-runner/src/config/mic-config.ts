import { DEFAULT_MIC_CONTROLLER_OPTIONS, type MicControllerOptions } from "../controller/mic-options.js";

/**
 * MIC's run configuration: the original's flags (docs/compatibility.md#mic-flags, same names and defaults)
 * plus podid's additions, as typed values. Produced by `parseMicFlags`; `composeMic` consumes it.
 * @packageDocumentation
 */

/** Log levels podid's MIC writes at. */
export const MIC_LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One of {@link MIC_LOG_LEVELS}. */
export type MicLogLevel = (typeof MIC_LOG_LEVELS)[number];

/** Leader election on a `coordination.k8s.io/v1` Lease (the original used an Endpoints lock of the same name). */
export interface MicLeaderElectionConfig {
  /** `--leader-election-instance`: holder identity (default: the host name, i.e. the pod name). */
  readonly instance: string;
  /** `--leader-election-namespace` (default `default`). */
  readonly namespace: string;
  /** `--leader-election-name` (default `aad-pod-identity-mic`). */
  readonly name: string;
  /** `--leader-election-duration` (default 15 s; renew deadline = d/2, retry period = d/4). */
  readonly durationMs: number;
}

/** Everything MIC needs to run. */
export interface MicConfig {
  /** `--kubeconfig`: kubeconfig path; `""` → `$KUBECONFIG` when set, else in-cluster in a pod, else `~/.kube/config`. */
  readonly kubeconfig: string;
  /** `--cloudconfig`: `azure.json` path (watched and reloaded); `""` → the environment variables, read once. */
  readonly cloudconfig: string;
  /** `--forceNamespaced` or env `FORCENAMESPACED=true`. */
  readonly forceNamespaced: boolean;
  /** `--syncRetryDuration`: an unconditional full planning pass this often (default 1 h). */
  readonly syncRetryIntervalMs: number;
  readonly leaderElection: MicLeaderElectionConfig;
  /** `--http-probe-port` (default 8080): `/healthz`, `/readyz`, `/livez`. */
  readonly probePort: number;
  /** `--prometheus-port` (default 8888): `/metrics` (shares the probe server when both ports are equal). */
  readonly prometheusPort: number;
  /** `--listen-address` (podid; default `0.0.0.0`, as the original): address of the probe and metrics servers. */
  readonly listenAddress: string;
  /** `--immutable-user-msis`: client or resource ids MIC never detaches (comma-separated on the command line). */
  readonly immutableUserMsis: readonly string[];
  /** `--createDeleteBatch` (default 20): concurrent AzureAssignedIdentity writes. */
  readonly createDeleteBatch: number;
  /**
   * `--clientQps` (default 50; the original's 5 made a 2,000-pod burst wait minutes on client-side
   * throttling): Kubernetes client QPS and burst (docs/adr/0013-pipelined-assignment-and-client-qps.md).
   */
  readonly clientQps: number;
  /** `--update-user-msi-max-retry` (default 2): PATCH retries after leaving refused identities out. */
  readonly updateUserMsiMaxRetry: number;
  /**
   * `--update-user-msi-retry-interval` (default 1 s). Accepted and validated; podid retries a PATCH without
   * the refused identities at once (the ids come from ARM's answer, so there is nothing to wait for) and
   * keeps them out with an exponential quarantine instead.
   */
  readonly updateUserMsiRetryIntervalMs: number;
  /** `--identity-assignment-reconcile-interval` (default 3 m): Azure drift repair period. */
  readonly identityAssignmentReconcileIntervalMs: number;
  /** `--batch-window` (podid; default 1 s): changes within this window are planned together. */
  readonly batchWindowMs: number;
  /** `--arm-poll-interval` (podid; default 5 s): polling of a PATCH's long-running operation without Retry-After. */
  readonly armPollIntervalMs: number;
  /** `--log-level` (podid; default `info`; klog's `-v` ≥ 4 selects `debug`). */
  readonly logLevel: MicLogLevel;
  /** `--custom-user-agent`: appended to the Kubernetes and ARM user agents. */
  readonly customUserAgent: string;
  /**
   * `--service-account-issuer` (podid; default `""`): the issuer federated identity credentials trust. Empty: read
   * once from the API server's `/.well-known/openid-configuration` (docs/adr/0021-federated-identities.md).
   */
  readonly serviceAccountIssuer: string;
  /** `--enable-type-upgrade`, `--config-map-name`, `--type-upgrade-status-key`: accepted; nothing to upgrade in podid. */
  readonly typeUpgrade: { readonly enabled: boolean; readonly configMapName: string; readonly statusKey: string };
}

/** The defaults of every setting (the original's where it has the flag). */
export const MIC_CONFIG_DEFAULTS = {
  kubeconfig: "",
  cloudconfig: "",
  forceNamespaced: false,
  syncRetryIntervalMs: 3_600_000,
  leaderElectionNamespace: "default",
  leaderElectionName: "aad-pod-identity-mic",
  leaderElectionDurationMs: 15_000,
  probePort: 8080,
  prometheusPort: 8888,
  listenAddress: "0.0.0.0",
  createDeleteBatch: 20,
  clientQps: 50,
  updateUserMsiMaxRetry: 2,
  updateUserMsiRetryIntervalMs: 1_000,
  identityAssignmentReconcileIntervalMs: 180_000,
  batchWindowMs: DEFAULT_MIC_CONTROLLER_OPTIONS.batchWindowMs,
  armPollIntervalMs: 5_000,
  logLevel: "info" as MicLogLevel,
  configMapName: "aad-pod-identity-config",
  typeUpgradeStatusKey: "type-upgrade-status",
  serviceAccountIssuer: "",
} as const;

/**
 * The controller's options for `config`; `clusterIdentity` is the `userAssignedIdentityID` of the cloud
 * configuration in force (implicitly immutable, PR #981), `""` when there is none.
 */
export function controllerOptionsFrom(config: MicConfig, clusterIdentity: string): MicControllerOptions {
  return {
    ...DEFAULT_MIC_CONTROLLER_OPTIONS,
    forceNamespaced: config.forceNamespaced,
    immutableIdentities: config.immutableUserMsis,
    ...(clusterIdentity.trim() === "" ? {} : { clusterIdentity: clusterIdentity.trim() }),
    batchWindowMs: config.batchWindowMs,
    driftRepairIntervalMs: config.identityAssignmentReconcileIntervalMs,
    fullResyncIntervalMs: config.syncRetryIntervalMs,
    writeConcurrency: config.createDeleteBatch,
    maxRefusedIdentityRetries: config.updateUserMsiMaxRetry,
    operationPollMs: config.armPollIntervalMs,
  };
}
