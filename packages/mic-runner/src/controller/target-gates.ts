import {
  closeGate,
  computeTargetKey,
  gateOpensAt,
  OPEN_GATES,
  pruneGates,
  type ComputeError,
  type ComputePort,
  type ComputeTarget,
  type ThrottleGates,
} from "@podid/core";

/** Reads (GET) and writes (PATCH) are throttled separately by ARM, as the original's reader/writer gates. */
export type ArmOperationClass = "read" | "write";

/** A gate that is closed: how long to wait, and which scope closed it. */
export interface ClosedGate {
  readonly retryAfterMs: number;
  readonly opensAtMs: number;
  /** `subscription` when the subscription-wide gate is what keeps the call waiting. */
  readonly scope: "target" | "subscription";
}

/** Backoff of a VM/VMSS after failures other than throttling: doubling from `initialMs` up to `maxMs`. */
export interface FailureBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

const BOTH: readonly ArmOperationClass[] = ["read", "write"];

/**
 * When the controller may call ARM for a VM/VMSS again — the one place MIC honours ARM's Retry-After.
 * The adapter only turns a 429 into a `throttled` error carrying Retry-After and scope; the port returned
 * by {@link TargetGates.recording} closes the gates from those errors, and the controller asks
 * {@link TargetGates.opensAt} before it starts a VM/VMSS's work or a read, deferring the target to a
 * wake-up instead of occupying a worker with a call that would be refused. Gates are kept separately for
 * reads and writes (the original's `retryAfterReader` / `retryAfterWriter`), each per VM/VMSS and per
 * subscription (the original had one reader and one writer gate for everything, so one throttled scale set
 * stalled every node). Failures other than throttling close both gates of the target with a doubling
 * backoff, so a broken VM/VMSS is not retried on every planning pass.
 */
export class TargetGates {
  #gates: Record<ArmOperationClass, ThrottleGates> = { read: OPEN_GATES, write: OPEN_GATES };
  readonly #failures = new Map<string, number>();
  readonly #now: () => number;
  readonly #backoff: FailureBackoff;

  /** Gates on the given clock; `backoff` paces retries after failures other than throttling. */
  constructor(now: () => number, backoff: FailureBackoff = { initialMs: 5_000, maxMs: 300_000 }) {
    this.#now = now;
    this.#backoff = backoff;
  }

  /**
   * `compute` with every `throttled` answer recorded here (GETs as reads, PATCHes as writes). Calls are
   * never refused by it: deciding not to call is the controller's, before the work starts.
   */
  recording(compute: ComputePort): ComputePort {
    return {
      getIdentities: async (target) => {
        const result = await compute.getIdentities(target);
        if (!result.ok) this.record(target, "read", result.error);
        return result;
      },
      patchIdentities: async (target, patch, ifMatch) => {
        const result = await compute.patchIdentities(target, patch, ifMatch);
        if (!result.ok) this.record(target, "write", result.error);
        return result;
      },
    };
  }

  /** Records a failed call: a `throttled` error closes the target's (or the subscription's) gate. */
  record(target: ComputeTarget, operation: ArmOperationClass, error: ComputeError): void {
    if (error.kind !== "throttled") return;
    this.#gates[operation] = closeGate(this.#gates[operation], target, computeTargetKey(target), error.scope, this.#now() + error.retryAfterMs);
  }

  /** When calls of `operation` to `target` may resume, or `undefined` when they may go now. */
  closedFor(target: ComputeTarget, operation: ArmOperationClass): ClosedGate | undefined {
    const now = this.#now();
    this.#gates[operation] = pruneGates(this.#gates[operation], now);
    const gates = this.#gates[operation];
    const opensAtMs = gateOpensAt(gates, target, computeTargetKey(target), now);
    if (opensAtMs === undefined) return undefined;
    // With a key no target has, only the subscription-wide gate can answer.
    const scope = gateOpensAt(gates, target, "", now) === opensAtMs ? "subscription" : "target";
    return { opensAtMs, retryAfterMs: opensAtMs - now, scope };
  }

  /** When every call in `operations` (default: reads and writes) may go to `target`, or `undefined` for now. */
  opensAt(target: ComputeTarget, operations: readonly ArmOperationClass[] = BOTH): number | undefined {
    const latest = Math.max(...operations.map((operation) => this.closedFor(target, operation)?.opensAtMs ?? 0));
    return latest > 0 ? latest : undefined;
  }

  /** A VM/VMSS's work failed (not throttling): holds both its gates for the next backoff step; returns when they open. */
  failed(target: ComputeTarget): number {
    const key = computeTargetKey(target);
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const { initialMs, maxMs } = this.#backoff;
    const until = this.#now() + Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
    for (const operation of BOTH) this.#gates[operation] = closeGate(this.#gates[operation], target, key, "target", until);
    return until;
  }

  /** A VM/VMSS's work succeeded: its next failure starts the backoff from `initialMs` again. */
  succeeded(target: ComputeTarget): void {
    this.#failures.delete(computeTargetKey(target));
  }
}
