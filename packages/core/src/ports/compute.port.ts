import type { Result } from "../result.js";
import type { ComputeIdentityState, ComputeTarget, IdentityPatch } from "../azure-ids/types.js";

/**
 * Why an ARM compute call failed, classified so that callers can act without parsing text
 * (see `classifyArmError` in reconcile/arm-errors).
 */
export type ComputeError =
  /** 429: wait `retryAfterMs` before any call to this target (and, if `scope` is subscription, to any). */
  | { readonly kind: "throttled"; readonly retryAfterMs: number; readonly scope: "target" | "subscription"; readonly message: string }
  /** 409: another operation is running on the VM/VMSS; retry later. */
  | { readonly kind: "conflict"; readonly message: string }
  /** 412: the etag sent with If-Match is stale; re-read and retry. */
  | { readonly kind: "preconditionFailed"; readonly message: string }
  /** 404: the VM/VMSS does not exist. */
  | { readonly kind: "notFound"; readonly message: string }
  /** 403 LinkedAuthorizationFailed: the caller may not assign these identities (canonical keys). */
  | { readonly kind: "forbiddenIdentities"; readonly identityKeys: readonly string[]; readonly message: string }
  /** 400 FailedIdentityOperation / InvalidParameter: these identities do not exist (canonical keys). */
  | { readonly kind: "invalidIdentities"; readonly identityKeys: readonly string[]; readonly message: string }
  /** 400 "exceed limit '150' in one request". */
  | { readonly kind: "tooManyIdentities"; readonly message: string }
  /** 403 AuthorizationFailed on the VM/VMSS itself. */
  | { readonly kind: "forbidden"; readonly message: string }
  /** Anything else worth retrying later (5xx, network, timeouts). */
  | { readonly kind: "transient"; readonly message: string };

/** ARM access to the identity block of VMs and VMSS (implemented by adapter-azure and testkit). */
export interface ComputePort {
  /** Reads the identity block of a VM or scale set. */
  getIdentities(target: ComputeTarget): Promise<Result<ComputeIdentityState, ComputeError>>;
  /**
   * Applies one identity PATCH (≤150 map entries) and waits for the long-running operation.
   * @param ifMatch - etag for optimistic concurrency; omitted means unconditional.
   * @returns the identity block after the operation.
   */
  patchIdentities(
    target: ComputeTarget,
    patch: IdentityPatch,
    ifMatch?: string,
  ): Promise<Result<ComputeIdentityState, ComputeError>>;
}
