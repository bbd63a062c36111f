import type { SecretData } from "@podid/core";

/**
 * Decodes a Secret's `data` (base64 values, as the API returns them) into bytes. Entries that are not
 * strings are skipped. `stringData` is write-only in the API and never appears on reads.
 */
export function decodeSecretData(data: Readonly<Record<string, unknown>> | undefined): SecretData {
  if (data === undefined) return {};
  const entries: [string, Uint8Array][] = [];
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === "string") entries.push([key, new Uint8Array(Buffer.from(value, "base64"))]);
  }
  // fromEntries defines own properties, so a key such as `__proto__` cannot reach the prototype.
  return Object.fromEntries(entries);
}
