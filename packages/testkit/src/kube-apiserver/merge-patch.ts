/**
 * JSON merge patch (RFC 7386, `application/merge-patch+json`): objects merge recursively, `null` deletes a
 * key, anything else (arrays included) replaces. kubectl uses it for `label`, `annotate`, `patch --type=merge`
 * and for `apply` of custom resources.
 * @packageDocumentation
 */
import { cloneJson, isJsonObject, type JsonValue } from "./json.js";

/** Applies `patch` to `target` per RFC 7386 and returns the result (inputs are not modified). */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result = isJsonObject(target) ? cloneJson(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}
