import type { ComputeIdentityState, IdentityPatch, ResourceIdentityType } from "../azure-ids/types.js";

/** ARM rejects identity PATCHes with more than this many `userAssignedIdentities` entries (#813). */
export const MAX_IDENTITIES_PER_REQUEST = 150;

/** What should change on one VM or scale set, as canonical (lower-case) identity keys. */
export interface IdentityIntent {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

/** The PATCH bodies that carry an intent, and the identity block they leave behind. */
export interface IdentityPatchPlan {
  /** Bodies to send in order; empty when nothing needs to change. */
  readonly patches: readonly IdentityPatch[];
  /** The identity block after every patch succeeded. */
  readonly resulting: ComputeIdentityState;
  /** Set when no PATCH may be sent at all (the original refuses while a VM/VMSS is being deleted, PR #960). */
  readonly blockedBy?: "deleting";
}

/** True when the identity type includes a system-assigned identity. */
export function hasSystemAssigned(type: ResourceIdentityType): boolean {
  return type === "SystemAssigned" || type === "SystemAssigned, UserAssigned";
}

/**
 * The `type` to send while user-assigned identities remain: the system-assigned identity is kept when
 * present, because `UserAssigned` alone would delete it (mirrors `getUpdatedResourceIdentityType`).
 */
export function typeWithUserAssigned(current: ResourceIdentityType): ResourceIdentityType {
  return hasSystemAssigned(current) ? "SystemAssigned, UserAssigned" : "UserAssigned";
}

/**
 * The `type` to send when the last user-assigned identity goes: `SystemAssigned` keeps the system
 * identity; `None` is only ever sent when there is no system identity to lose.
 */
export function typeWithoutUserAssigned(current: ResourceIdentityType): ResourceIdentityType {
  return hasSystemAssigned(current) ? "SystemAssigned" : "None";
}

/**
 * Turns an intent into the minimal PATCH bodies against the observed identity block: only ids that
 * really change are sent (`{}` attach, `null` detach), an id both added and removed is kept (the
 * original applies removals first, then additions), ids no intent names are never touched, and the
 * entries are split into requests of at most {@link MAX_IDENTITIES_PER_REQUEST}. Additions go first so
 * that a scale set is never left without user identities between two chunks.
 */
export function planIdentityPatches(
  current: ComputeIdentityState,
  intent: IdentityIntent,
  maxPerRequest: number = MAX_IDENTITIES_PER_REQUEST,
): IdentityPatchPlan {
  const attached = new Map(current.userAssignedIdentityIds.map((id) => [id.toLowerCase(), id]));
  const adding = new Set(intent.add.map((key) => key.toLowerCase()));
  const toAdd = [...adding].filter((key) => !attached.has(key)).sort();
  const toRemove = [...new Set(intent.remove.map((key) => key.toLowerCase()))]
    .filter((key) => attached.has(key) && !adding.has(key))
    .sort();

  if (current.provisioningState?.toLowerCase() === "deleting" && toAdd.length + toRemove.length > 0) {
    return { patches: [], resulting: current, blockedBy: "deleting" };
  }

  const entries: Array<readonly [string, Record<string, never> | null]> = [
    ...toAdd.map((key) => [key, {}] as const),
    ...toRemove.map((key) => [attached.get(key) ?? key, null] as const),
  ];
  const chunkSize = Math.max(1, Math.floor(maxPerRequest));
  const patches: IdentityPatch[] = [];
  let state = current;
  for (let start = 0; start < entries.length; start += chunkSize) {
    const patch = identityPatchFor(state, entries.slice(start, start + chunkSize));
    patches.push(patch);
    state = applyIdentityPatch(state, patch);
  }
  return { patches, resulting: state };
}

function identityPatchFor(
  state: ComputeIdentityState,
  chunk: ReadonlyArray<readonly [string, Record<string, never> | null]>,
): IdentityPatch {
  const remaining = new Set(state.userAssignedIdentityIds.map((id) => id.toLowerCase()));
  for (const [id, value] of chunk) {
    if (value === null) remaining.delete(id.toLowerCase());
    else remaining.add(id.toLowerCase());
  }
  if (remaining.size === 0) {
    // ARM rejects a user-assigned map alongside a type without UserAssigned; the type alone detaches all.
    return { identity: { type: typeWithoutUserAssigned(state.type) } };
  }
  return { identity: { type: typeWithUserAssigned(state.type), userAssignedIdentities: Object.fromEntries(chunk) } };
}

/**
 * ARM's PATCH semantics for an identity block, as a pure function: the user-assigned map is merged
 * (`{}` attach, `null` detach, ids case-insensitive), `None` removes everything, a type without
 * `UserAssigned` removes every user identity, and a type without `SystemAssigned` removes the system one.
 * Used to predict the result of a plan and by tests as the reference model.
 */
export function applyIdentityPatch(state: ComputeIdentityState, patch: IdentityPatch): ComputeIdentityState {
  const { type, userAssignedIdentities } = patch.identity;
  const users = new Map(state.userAssignedIdentityIds.map((id) => [id.toLowerCase(), id]));
  if (type === "None" || type === "SystemAssigned") {
    users.clear();
  } else {
    for (const [id, value] of Object.entries(userAssignedIdentities ?? {})) {
      if (value === null) users.delete(id.toLowerCase());
      else if (!users.has(id.toLowerCase())) users.set(id.toLowerCase(), id);
    }
  }
  const { etag: _staleEtag, ...rest } = state;
  return { ...rest, type, userAssignedIdentityIds: [...users.values()] };
}
