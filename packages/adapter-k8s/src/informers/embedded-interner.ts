import type { AzureAssignedIdentity } from "@podid/core";

/** Freezes `value` and everything reachable from it, so one copy can be shared by many owners. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Shares one frozen copy of each distinct parsed object. Every AzureAssignedIdentity embeds a full copy
 * of its AzureIdentity and AzureIdentityBinding, so at 10,000 pods the informer cache would otherwise hold
 * 20,000 parsed copies of a few hundred distinct objects. Objects are keyed by their whole content (so two
 * copies are shared only when they are equal in every field), and the table holds them weakly: a copy no
 * cached object uses any more is collected and its entry removed.
 */
export class ContentInterner {
  readonly #table = new Map<string, WeakRef<object>>();
  readonly #cleanup = new FinalizationRegistry<string>((key) => {
    if (this.#table.get(key)?.deref() === undefined) this.#table.delete(key);
  });

  /** Distinct objects currently shared (entries whose copy is still alive). */
  get size(): number {
    return this.#table.size;
  }

  /** The shared frozen copy equal to `value` (which becomes that copy when none exists yet). */
  intern<T extends object>(value: T): T {
    const key = JSON.stringify(value);
    const existing = this.#table.get(key)?.deref();
    if (existing !== undefined) return existing as T;
    deepFreeze(value);
    this.#table.set(key, new WeakRef(value));
    this.#cleanup.register(value, key);
    return value;
  }
}

/**
 * The same AzureAssignedIdentity with its embedded identity and binding replaced by shared copies
 * (core's types are unchanged: the copies are equal objects, only frozen).
 */
export function internEmbedded(interner: ContentInterner, assigned: AzureAssignedIdentity): AzureAssignedIdentity {
  const { spec } = assigned;
  const azureIdentityRef = interner.intern(spec.azureIdentityRef);
  const azureBindingRef = interner.intern(spec.azureBindingRef);
  if (azureIdentityRef === spec.azureIdentityRef && azureBindingRef === spec.azureBindingRef) return assigned;
  return { ...assigned, spec: { ...spec, azureIdentityRef, azureBindingRef } };
}
