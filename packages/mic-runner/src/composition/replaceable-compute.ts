import type { ComputeError, ComputeIdentityState, ComputePort, ComputeTarget, IdentityPatch, Result } from "@podid/core";

/**
 * A {@link ComputePort} whose implementation can be swapped while MIC runs: when `azure.json` changes
 * (a rotated service-principal secret, another cloud endpoint) the composition root builds a new ARM
 * adapter with a new credential and puts it here, so the controller's next call uses it without a
 * restart — the original re-initialised its cloud client on file change the same way. Calls already
 * running finish on the adapter they started on.
 */
export class ReplaceableCompute implements ComputePort {
  #current: ComputePort;
  #generation = 0;

  /** Starts with `initial`. */
  constructor(initial: ComputePort) {
    this.#current = initial;
  }

  /** How many times the implementation was replaced. */
  get generation(): number {
    return this.#generation;
  }

  /** Makes `next` serve every later call. */
  replace(next: ComputePort): void {
    this.#current = next;
    this.#generation++;
  }

  /** Reads through the current implementation. */
  getIdentities(target: ComputeTarget): Promise<Result<ComputeIdentityState, ComputeError>> {
    return this.#current.getIdentities(target);
  }

  /** Patches through the current implementation. */
  patchIdentities(target: ComputeTarget, patch: IdentityPatch, ifMatch?: string): Promise<Result<ComputeIdentityState, ComputeError>> {
    return ifMatch === undefined ? this.#current.patchIdentities(target, patch) : this.#current.patchIdentities(target, patch, ifMatch);
  }
}
