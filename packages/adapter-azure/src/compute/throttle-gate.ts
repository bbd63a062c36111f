import {
  closeGate,
  computeTargetKey,
  gateOpensAt,
  OPEN_GATES,
  pruneGates,
  type ComputeError,
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

/**
 * Retry-After bookkeeping for ARM calls, on core's pure gate functions: one set of gates for reads and one
 * for writes (the original's `retryAfterReader` / `retryAfterWriter`, PR #742), each per VM/VMSS and per
 * subscription (the original had a single reader and writer gate for everything, so one throttled scale
 * set stalled every node). While a gate is closed, calls fail fast instead of reaching ARM.
 */
export class ArmThrottleGate {
  #gates: Record<ArmOperationClass, ThrottleGates> = { read: OPEN_GATES, write: OPEN_GATES };
  readonly #now: () => number;

  /** Creates a gate set on the given clock. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
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

  /** Records a failure: a `throttled` error closes the target's (or the subscription's) gate. */
  record(target: ComputeTarget, operation: ArmOperationClass, error: ComputeError): void {
    if (error.kind !== "throttled") return;
    this.#gates[operation] = closeGate(
      this.#gates[operation],
      target,
      computeTargetKey(target),
      error.scope,
      this.#now() + error.retryAfterMs,
    );
  }

  /** Opens every gate (e.g. after the credential changed). */
  reset(): void {
    this.#gates = { read: OPEN_GATES, write: OPEN_GATES };
  }
}
