import { err, ok, type Result } from "../result.js";
import { readArmPrefix, sameSegment, splitArmPath } from "./arm-path.js";
import { azureIdError, type AzureIdError } from "./errors.js";
import type { UserAssignedIdentityId } from "./types.js";

const WHAT = "user-assigned identity id";
const PROVIDER = "Microsoft.ManagedIdentity";
const RESOURCE_TYPE = "userAssignedIdentities";

/**
 * Parses the ARM id of a user-assigned managed identity,
 * `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`.
 * Segment names and the provider compare case-insensitively (ARM does, and the original matched with
 * `(?i)`); values keep their casing. Unlike the original's unanchored regex, ids with extra or empty
 * segments, a trailing slash, whitespace or no leading slash are rejected, so every accepted id has exactly
 * one canonical {@link UserAssignedIdentityId.key}.
 */
export function parseUserAssignedIdentityId(id: string): Result<UserAssignedIdentityId, AzureIdError> {
  const split = splitArmPath(id, WHAT);
  if (!split.ok) return split;
  const segments = split.value;
  if (segments.length !== 8) {
    return err(
      azureIdError(
        "wrongSegmentCount",
        id,
        `${WHAT} "${id}" has ${segments.length} segments, expected 8 (/subscriptions/<id>/resourceGroups/<group>/providers/${PROVIDER}/${RESOURCE_TYPE}/<name>)`,
      ),
    );
  }
  const prefix = readArmPrefix(segments, id, WHAT, PROVIDER);
  if (!prefix.ok) return prefix;
  if (!sameSegment(segments[6], RESOURCE_TYPE)) {
    return err(
      azureIdError("wrongResourceType", id, `${WHAT} "${id}" names resource type "${segments[6] ?? ""}", expected ${RESOURCE_TYPE}`),
    );
  }
  const name = segments[7] ?? "";
  const { subscriptionId, resourceGroup } = prefix.value;
  return ok({
    subscriptionId,
    resourceGroup,
    name,
    key: `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/microsoft.managedidentity/userassignedidentities/${name}`.toLowerCase(),
  });
}

/**
 * The ARM id of `id` in ARM's own spelling (`resourceGroups`, `Microsoft.ManagedIdentity`,
 * `userAssignedIdentities`) with the values as parsed; use it in PATCH bodies.
 */
export function formatUserAssignedIdentityId(id: Omit<UserAssignedIdentityId, "key">): string {
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/${PROVIDER}/${RESOURCE_TYPE}/${id.name}`;
}

/** The canonical lower-case key of an identity id, or `undefined` when `id` is not a valid id. */
export function identityKey(id: string): string | undefined {
  const parsed = parseUserAssignedIdentityId(id);
  return parsed.ok ? parsed.value.key : undefined;
}

/**
 * True when both strings are valid user-assigned identity ids naming the same identity (ignoring case).
 * An invalid id is never "the same" as anything, not even itself: the original ignores such identities,
 * so they must never be treated as already present on a VM.
 */
export function sameIdentityId(a: string, b: string): boolean {
  const ka = identityKey(a);
  return ka !== undefined && ka === identityKey(b);
}
