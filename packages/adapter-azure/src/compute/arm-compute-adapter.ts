import { ComputeManagementClient, type VirtualMachine, type VirtualMachineScaleSet } from "@azure/arm-compute";
import type { TokenCredential } from "@azure/core-auth";
import {
  classifyArmError,
  CLOUD_OPERATION,
  err,
  METRIC,
  METRIC_LABEL,
  ok,
  type ComputeError,
  type ComputeIdentityState,
  type ComputePort,
  type ComputeTarget,
  type IdentityPatch,
  type MetricsPort,
  type Result,
} from "@podid/core";
import { armFailureOf } from "./arm-failure.js";
import { armPipelineOptions, type ArmClientSettings } from "./arm-client-settings.js";
import { toComputeIdentityState, toSdkIdentity } from "./identity-mapping.js";

/** Options of {@link ArmComputeAdapter}. */
export interface ArmComputeAdapterOptions extends ArmClientSettings {
  /** Credential for ARM (see `createArmCredential`). */
  readonly credential: TokenCredential;
  /**
   * Polling interval of the long-running PATCH operation when ARM sends no `Retry-After` on it (the
   * original polled every 5 s; default 5 000 ms).
   */
  readonly pollIntervalMs?: number;
  /**
   * Upper bound of one PATCH including the wait for its operation (default 10 min). The original waited
   * up to autorest's 15 minutes, blocking that node's goroutine; podid reports `transient` instead.
   */
  readonly operationTimeoutMs?: number;
  /** Clock for Retry-After dates and durations (default `Date.now`). */
  readonly now?: () => number;
  /** The original's cloud-provider metrics (durations of successes, counts of errors) when given. */
  readonly metrics?: MetricsPort;
}

type Operation = (typeof CLOUD_OPERATION)[keyof typeof CLOUD_OPERATION];

/**
 * {@link ComputePort} on `@azure/arm-compute`: reads and patches the identity block of VMs (by name) and
 * uniform scale sets.
 *
 * - A PATCH sends exactly the body core built (`{ identity }` with its `{}`/`null` delta) and waits for the
 *   long-running operation; the identity block the operation leaves is returned.
 * - Every failure goes through core's `classifyArmError` (network errors and failed waits → `transient`,
 *   per-identity 403/400 → the identities' keys, 429 → `throttled`).
 * - A 429 is never retried or slept on inside the SDK (see `retryAfterCapturePolicy`): it comes back at
 *   once as core's `throttled` error carrying the Retry-After and whether the VM/VMSS or the whole
 *   subscription is throttled. Honouring it is the caller's: MIC's controller keeps the gates and defers
 *   that target's work until they open, without a worker waiting on it; the CLI reads once and reports.
 *   The SDK still retries 5xx, 408 and network errors a bounded number of times.
 */
export class ArmComputeAdapter implements ComputePort {
  readonly #options: ArmComputeAdapterOptions;
  readonly #clients = new Map<string, ComputeManagementClient>();
  readonly #now: () => number;

  /** Creates the adapter; SDK clients are created per subscription on first use. */
  constructor(options: ArmComputeAdapterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Reads the identity block of a VM or scale set. */
  async getIdentities(target: ComputeTarget): Promise<Result<ComputeIdentityState, ComputeError>> {
    const operation = target.kind === "vm" ? CLOUD_OPERATION.vmGet : CLOUD_OPERATION.vmssGet;
    return this.#call(target, operation, async (client) => {
      const resource: VirtualMachine | VirtualMachineScaleSet =
        target.kind === "vm"
          ? await client.virtualMachines.get(target.resourceGroup, target.name)
          : await client.virtualMachineScaleSets.get(target.resourceGroup, target.name);
      return toComputeIdentityState(resource);
    });
  }

  /** Applies one identity PATCH and waits for its long-running operation. */
  async patchIdentities(
    target: ComputeTarget,
    patch: IdentityPatch,
    ifMatch?: string,
  ): Promise<Result<ComputeIdentityState, ComputeError>> {
    const operation = target.kind === "vm" ? CLOUD_OPERATION.vmUpdate : CLOUD_OPERATION.vmssUpdate;
    return this.#call(target, operation, async (client) => {
      const options = {
        updateIntervalInMs: this.#options.pollIntervalMs ?? 5_000,
        abortSignal: AbortSignal.timeout(this.#options.operationTimeoutMs ?? 600_000),
        ...(ifMatch !== undefined ? { ifMatch } : {}),
      };
      const body = { identity: toSdkIdentity(patch) };
      const resource: VirtualMachine | VirtualMachineScaleSet =
        target.kind === "vm"
          ? await client.virtualMachines.update(target.resourceGroup, target.name, body, options)
          : await client.virtualMachineScaleSets.update(target.resourceGroup, target.name, body, options);
      return toComputeIdentityState(resource);
    });
  }

  async #call(
    target: ComputeTarget,
    operation: Operation,
    run: (client: ComputeManagementClient) => Promise<ComputeIdentityState>,
  ): Promise<Result<ComputeIdentityState, ComputeError>> {
    const started = this.#now();
    try {
      const state = await run(this.#client(target.subscriptionId));
      this.#options.metrics?.observe(
        METRIC.cloudProviderOperationsDuration,
        { [METRIC_LABEL.operationType]: operation },
        (this.#now() - started) / 1000,
      );
      return ok(state);
    } catch (e) {
      const error = classifyArmError(armFailureOf(e), this.#now());
      this.#countError(operation);
      return err(error);
    }
  }

  #countError(operation: Operation): void {
    this.#options.metrics?.increment(METRIC.cloudProviderOperationsErrorsCount, { [METRIC_LABEL.operationType]: operation });
  }

  #client(subscriptionId: string): ComputeManagementClient {
    const key = subscriptionId.toLowerCase();
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = new ComputeManagementClient(this.#options.credential, subscriptionId, {
        endpoint: this.#options.endpoint,
        credentials: { scopes: [this.#options.scope] },
        ...armPipelineOptions(this.#options),
      });
      this.#clients.set(key, client);
    }
    return client;
  }
}
