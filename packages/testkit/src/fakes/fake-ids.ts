import type { ComputeTarget } from "@podid/core";

/**
 * Small, deterministic id helpers shared by the fakes: canonical ARM keys (lower-case, the form podid
 * compares) and GUID-shaped strings derived from a seed, so the same identity gets the same client and
 * principal ids in every fake and every test run.
 */

const USER_ASSIGNED_IDENTITY_KEY =
  /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/;

/**
 * The canonical key of a VM or scale set: its ARM id in lower case
 * (`/subscriptions/<s>/resourcegroups/<rg>/providers/microsoft.compute/virtualmachines|virtualmachinescalesets/<name>`).
 * ARM ids are case-insensitive, so the fakes index targets by this form.
 */
export function fakeComputeTargetKey(target: ComputeTarget): string {
  const collection = target.kind === "vm" ? "virtualmachines" : "virtualmachinescalesets";
  return `/subscriptions/${target.subscriptionId}/resourcegroups/${target.resourceGroup}/providers/microsoft.compute/${collection}/${target.name}`.toLowerCase();
}

/** The ARM id of a target in ARM's usual casing (as `xms_mirid` and error messages show it). */
export function fakeComputeTargetId(target: ComputeTarget): string {
  const collection = target.kind === "vm" ? "virtualMachines" : "virtualMachineScaleSets";
  return `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/Microsoft.Compute/${collection}/${target.name}`;
}

/**
 * The canonical (lower-case) key of a user-assigned identity id, or `undefined` when `id` is not shaped
 * like `/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…`.
 */
export function fakeIdentityKey(id: string): string | undefined {
  const key = id.toLowerCase();
  return USER_ASSIGNED_IDENTITY_KEY.test(key) ? key : undefined;
}

/** FNV-1a, 32 bit: enough spread for fake GUIDs, and no dependencies. */
function fnv1a(text: string, salt: number): number {
  let hash = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * A GUID-shaped string (`xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx`) derived deterministically from `seed`.
 * Equal seeds give equal GUIDs; different seeds practically never collide in test-sized sets.
 */
export function fakeGuid(seed: string): string {
  const hex = [0x9e37, 0x85eb, 0xc2b2, 0x27d4]
    .map((salt) => fnv1a(seed, salt).toString(16).padStart(8, "0"))
    .join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
