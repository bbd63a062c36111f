/** Tuning of the MIC controller; defaults mirror aad-pod-identity's MIC flags where one exists. */
export interface MicControllerOptions {
  /** `--forceNamespaced`. */
  readonly forceNamespaced: boolean;
  /** `--immutable-user-msis`: client or resource ids never detached. */
  readonly immutableIdentities: readonly string[];
  /** The cluster identity from azure.json (implicitly immutable). */
  readonly clusterIdentity?: string;
  /** Events arriving within this window are planned together (one PATCH per VM/VMSS per batch). */
  readonly batchWindowMs: number;
  /** `--identity-assignment-reconcile-interval`: how often each VM/VMSS is read back to repair drift. */
  readonly driftRepairIntervalMs: number;
  /** `--syncRetryDuration`: an unconditional full pass this often. */
  readonly fullResyncIntervalMs: number;
  /** `--createDeleteBatch`: concurrent AzureAssignedIdentity writes. */
  readonly writeConcurrency: number;
  /** `--update-user-msi-max-retry`. */
  readonly maxRefusedIdentityRetries: number;
  /** VMs/VMSS worked on at the same time. */
  readonly targetConcurrency: number;
  /**
   * How soon a VM/VMSS is read again while leaving `Created` objects wait for an operation on it to end
   * (a dead leader's PATCH still running in ARM; see core's `recoverLeavingCreated`).
   */
  readonly operationPollMs: number;
  /** Backoff of a VM/VMSS after a failure other than throttling (ARM 5xx, conflicts): doubling from `initialMs` to `maxMs`. */
  readonly failureBackoff: { readonly initialMs: number; readonly maxMs: number };
}

/** The defaults: the original's flag defaults plus a 1 s batch window. */
export const DEFAULT_MIC_CONTROLLER_OPTIONS: MicControllerOptions = {
  forceNamespaced: false,
  immutableIdentities: [],
  batchWindowMs: 1_000,
  driftRepairIntervalMs: 3 * 60_000,
  fullResyncIntervalMs: 3_600_000,
  writeConcurrency: 20,
  maxRefusedIdentityRetries: 2,
  targetConcurrency: 32,
  operationPollMs: 5_000,
  failureBackoff: { initialMs: 5_000, maxMs: 300_000 },
};
