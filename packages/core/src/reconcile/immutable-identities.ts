import type { AzureIdentity } from "../model/types.js";
import { managedIdentityKey } from "./assignment-comparison.js";

/**
 * The identities MIC must never detach: `--immutable-user-msis` (client ids, or resource ids) plus the
 * cluster's own identity from azure.json (PR #981). Compared case-insensitively — the original compared
 * the identity's client id as written against a lower-cased set, so an upper-case client id slipped through.
 */
export function immutableIdentitySet(configured: readonly string[], clusterIdentity?: string): ReadonlySet<string> {
  const values = [...configured, ...(clusterIdentity === undefined ? [] : [clusterIdentity])];
  return new Set(values.map((value) => value.trim().toLowerCase()).filter((value) => value !== ""));
}

/** True when `identity` is in the immutable set by client id or by resource id. */
export function isImmutableIdentity(identity: AzureIdentity, immutable: ReadonlySet<string>): boolean {
  if (immutable.size === 0) return false;
  const key = managedIdentityKey(identity);
  return immutable.has(identity.spec.clientID.trim().toLowerCase()) || (key !== undefined && immutable.has(key));
}
