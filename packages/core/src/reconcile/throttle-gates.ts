import type { ComputeTarget } from "../azure-ids/types.js";

/**
 * Retry-After bookkeeping for ARM: after a 429, calls to that VM/VMSS — or, for subscription-wide
 * throttling, to every target of the subscription — wait until the gate opens instead of hitting ARM
 * again (the original kept one reader and one writer gate for everything, PR #742; podid gates per target
 * so one throttled scale set never stalls the others). Immutable: every change returns a new value.
 */
export type ThrottleGates = ReadonlyMap<string, number>;

/** No gates closed. */
export const OPEN_GATES: ThrottleGates = new Map();

const subscriptionGateKey = (target: ComputeTarget) => `subscription:${target.subscriptionId.toLowerCase()}`;

/** Closes the gate of `targetKey` (or of the whole subscription) until `untilMs`; never shortens a gate. */
export function closeGate(
  gates: ThrottleGates,
  target: ComputeTarget,
  targetKey: string,
  scope: "target" | "subscription",
  untilMs: number,
): ThrottleGates {
  const key = scope === "subscription" ? subscriptionGateKey(target) : targetKey;
  if ((gates.get(key) ?? 0) >= untilMs) return gates;
  return new Map(gates).set(key, untilMs);
}

/** When calls to this target may resume, or `undefined` when they may go now. */
export function gateOpensAt(gates: ThrottleGates, target: ComputeTarget, targetKey: string, nowMs: number): number | undefined {
  const until = Math.max(gates.get(targetKey) ?? 0, gates.get(subscriptionGateKey(target)) ?? 0);
  return until > nowMs ? until : undefined;
}

/** Drops gates that have opened (keeps the map small). */
export function pruneGates(gates: ThrottleGates, nowMs: number): ThrottleGates {
  if (![...gates.values()].some((until) => until <= nowMs)) return gates;
  return new Map([...gates].filter(([, until]) => until > nowMs));
}
