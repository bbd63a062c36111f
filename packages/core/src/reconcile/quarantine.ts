/**
 * Quarantine of identities ARM refused (no permission to assign, identity deleted): while quarantined
 * an identity is left out of every PATCH, so one bad identity never blocks the others on a VM/VMSS
 * (the original's #515, #1139). Entries back off exponentially and are released early when the
 * AzureIdentity changes (the operator fixed something).
 */

/** Why an identity is quarantined. */
export type QuarantineReason = "forbidden" | "invalid";

/** One quarantined identity. */
export interface QuarantineEntry {
  readonly reason: QuarantineReason;
  readonly message: string;
  readonly sinceMs: number;
  readonly untilMs: number;
  /** How many times in a row ARM refused it; drives the backoff. */
  readonly strikes: number;
}

/** Quarantined identities by canonical key. Immutable: every change returns a new map. */
export type QuarantineState = ReadonlyMap<string, QuarantineEntry>;

/** Backoff of quarantine periods. */
export interface QuarantinePolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** One minute, doubling up to thirty: short enough to notice a fix, long enough not to storm ARM. */
export const DEFAULT_QUARANTINE_POLICY: QuarantinePolicy = { initialMs: 60_000, maxMs: 30 * 60_000 };

/** An empty quarantine. */
export const EMPTY_QUARANTINE: QuarantineState = new Map();

/** Quarantines `keys` (or extends their quarantine with one more strike). */
export function quarantineIdentities(
  state: QuarantineState,
  keys: readonly string[],
  reason: QuarantineReason,
  message: string,
  nowMs: number,
  policy: QuarantinePolicy = DEFAULT_QUARANTINE_POLICY,
): QuarantineState {
  if (keys.length === 0) return state;
  const next = new Map(state);
  for (const raw of keys) {
    const key = raw.toLowerCase();
    const strikes = (state.get(key)?.strikes ?? 0) + 1;
    const periodMs = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(strikes - 1, 30));
    next.set(key, { reason, message, sinceMs: state.get(key)?.sinceMs ?? nowMs, untilMs: nowMs + periodMs, strikes });
  }
  return next;
}

/** True while `key` must be left out of PATCHes. */
export function isQuarantined(state: QuarantineState, key: string, nowMs: number): boolean {
  const entry = state.get(key.toLowerCase());
  return entry !== undefined && entry.untilMs > nowMs;
}

/** Forgets `keys` (an identity was edited, or ARM accepted it). */
export function releaseIdentities(state: QuarantineState, keys: readonly string[]): QuarantineState {
  if (!keys.some((key) => state.has(key.toLowerCase()))) return state;
  const next = new Map(state);
  for (const key of keys) next.delete(key.toLowerCase());
  return next;
}

/**
 * The one holder of the quarantine: MIC keeps a single instance for its whole term and every
 * `PlanExecution` writes to it directly, so a refusal seen on one VM/VMSS is visible to the next plan at
 * once and nothing has to be merged back. The planner reads {@link IdentityQuarantine.state} (an immutable
 * snapshot). The quarantine is per identity, not per VM/VMSS: ARM refuses an identity because MIC may not
 * assign it or because it was deleted, which holds on every target alike.
 */
export class IdentityQuarantine {
  #state: QuarantineState;
  readonly #policy: QuarantinePolicy;

  /** Starts from `initial` (default empty), with periods from `policy`. */
  constructor(initial: QuarantineState = EMPTY_QUARANTINE, policy: QuarantinePolicy = DEFAULT_QUARANTINE_POLICY) {
    this.#state = initial;
    this.#policy = policy;
  }

  /** The quarantine now (immutable; later changes produce a new map). */
  get state(): QuarantineState {
    return this.#state;
  }

  /** Quarantines `keys` ARM refused, or extends their quarantine by one more strike. */
  refuse(keys: readonly string[], reason: QuarantineReason, message: string, nowMs: number): void {
    this.#state = quarantineIdentities(this.#state, keys, reason, message, nowMs, this.#policy);
  }

  /** Forgets `keys`: ARM holds them on a VM/VMSS, so they are assignable again. */
  release(keys: readonly string[]): void {
    this.#state = releaseIdentities(this.#state, keys);
  }
}
