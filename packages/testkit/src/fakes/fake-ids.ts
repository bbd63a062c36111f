/**
 * Deterministic GUID-shaped strings shared by the fakes, so the same identity gets the same client and
 * principal ids in every fake and every test run. (Canonical ARM keys come from @podid/core's
 * `computeTargetKey` and `identityKey`, so the fakes agree with podid on what "the same id" means.)
 */

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
