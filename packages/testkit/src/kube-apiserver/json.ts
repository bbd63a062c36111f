/**
 * Plain-JSON helpers shared by the fake kube-apiserver: every stored object is a JSON tree, so cloning and
 * equality are structural and never depend on prototypes.
 * @packageDocumentation
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (a map from keys to JSON values). */
export type JsonObject = { [key: string]: JsonValue };

/** A Kubernetes object as stored and served by the fake: plain JSON with `metadata` as an object. */
export type KubeObject = JsonObject & { metadata: JsonObject };

/** Whether `value` is a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A deep copy of a JSON value (objects handed out by the store can never alias stored state). */
export function cloneJson<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

/** Structural equality of two JSON values; key order of objects is ignored, array order is not. */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (typeof a !== "object" || typeof b !== "object" || Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}

/** `obj[key]` when it is a JSON object, else `undefined`. */
export function objectAt(obj: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = obj?.[key];
  return isJsonObject(value) ? value : undefined;
}

/** `obj[key]` when it is a string, else `undefined`. */
export function stringAt(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === "string" ? value : undefined;
}

/** `obj[key]` when it is an array of strings (non-strings dropped), else `[]`. */
export function stringsAt(obj: JsonObject | undefined, key: string): string[] {
  const value = obj?.[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** `obj[key]` when it is a map of strings to strings (other values dropped), else `{}`. */
export function stringMapAt(obj: JsonObject | undefined, key: string): Record<string, string> {
  const value = objectAt(obj, key);
  const out: Record<string, string> = {};
  if (value === undefined) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * The value at a dotted path such as `spec.nodeName` or `status.conditions[0].type` (`undefined` when absent).
 * Used by field selectors and printer columns, which address simple fields the same way.
 */
export function valueAtPath(obj: JsonValue | undefined, path: string): JsonValue | undefined {
  let current: JsonValue | undefined = obj;
  for (const part of splitPath(path)) {
    if (current === undefined || current === null) return undefined;
    if (typeof part === "number") {
      current = Array.isArray(current) ? current[part] : undefined;
    } else {
      current = isJsonObject(current) ? current[part] : undefined;
    }
  }
  return current;
}

function splitPath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const trimmed = path.startsWith(".") ? path.slice(1) : path;
  for (const segment of trimmed.split(".")) {
    if (segment === "") continue;
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(segment);
    if (match === null) {
      parts.push(segment);
      continue;
    }
    if (match[1] !== undefined && match[1] !== "") parts.push(match[1]);
    for (const index of (match[2] ?? "").matchAll(/\[(\d+)\]/g)) parts.push(Number(index[1]));
  }
  return parts;
}
