/**
 * Small readers for raw API JSON shared by the parsers. Each one records a {@link ValidationIssue} in the
 * caller's list instead of throwing and returns a usable fallback, so a parser can report every problem of
 * an object at once.
 */
import type { ValidationIssue, ValidationReason } from "./validation.js";

/** A decoded JSON object. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `prefix.key`, or `key` at the top level. */
export function joinPath(prefix: string, key: string): string {
  return prefix === "" ? key : `${prefix}.${key}`;
}

/**
 * The value of the first of `names` that is present and not `null` on `obj`. Parsers list the current
 * camelCase name first and the legacy PascalCase name after it: since v1.6.0 the original decodes with
 * client-go ≥ 0.17, whose JSON field matching is case-sensitive, so only the camelCase field is what the
 * running system actually uses when both are present. JSON `null` counts as absent, as Go's decoder leaves
 * the zero value for it.
 */
export function pick(obj: JsonObject, names: readonly string[]): unknown {
  for (const name of names) {
    if (Object.hasOwn(obj, name)) {
      const value = obj[name];
      if (value !== null && value !== undefined) return value;
    }
  }
  return undefined;
}

/** Records an issue. */
export function addIssue(issues: ValidationIssue[], reason: ValidationReason, field: string, message: string): void {
  issues.push({ reason, field, message });
}

/** A short description of a JSON value's type for messages. */
export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Reads a string field (`""` when absent); a non-string records `invalidFieldType`. */
export function readString(obj: JsonObject, names: readonly string[], path: string, issues: ValidationIssue[]): string {
  const value = pick(obj, names);
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  addIssue(issues, "invalidFieldType", joinPath(path, names[0] ?? ""), `expected a string, got ${jsonType(value)}`);
  return "";
}

/** Reads an optional string; absent or `""` gives `undefined` (the API server omits empty optional strings). */
export function readOptionalString(
  obj: JsonObject,
  names: readonly string[],
  path: string,
  issues: ValidationIssue[],
): string | undefined {
  const value = readString(obj, names, path, issues);
  return value === "" ? undefined : value;
}

/** Reads an optional integer (a JSON number without fraction); anything else records `invalidFieldType`. */
export function readOptionalInteger(
  obj: JsonObject,
  names: readonly string[],
  path: string,
  issues: ValidationIssue[],
): number | undefined {
  const value = pick(obj, names);
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  addIssue(issues, "invalidFieldType", joinPath(path, names[0] ?? ""), `expected an integer, got ${JSON.stringify(value) ?? jsonType(value)}`);
  return undefined;
}

/** Reads a boolean (`false` when absent); anything else records `invalidFieldType`. */
export function readBoolean(obj: JsonObject, names: readonly string[], path: string, issues: ValidationIssue[]): boolean {
  const value = pick(obj, names);
  if (value === undefined) return false;
  if (typeof value === "boolean") return value;
  addIssue(issues, "invalidFieldType", joinPath(path, names[0] ?? ""), `expected a boolean, got ${jsonType(value)}`);
  return false;
}

/** Reads a nested object (`undefined` when absent); a non-object records `invalidFieldType`. */
export function readObject(
  obj: JsonObject,
  names: readonly string[],
  path: string,
  issues: ValidationIssue[],
): JsonObject | undefined {
  const value = pick(obj, names);
  if (value === undefined) return undefined;
  if (isJsonObject(value)) return value;
  addIssue(issues, "invalidFieldType", joinPath(path, names[0] ?? ""), `expected an object, got ${jsonType(value)}`);
  return undefined;
}

/**
 * Reads a `map[string]string` (`{}` when absent). A non-object or a non-string value records `reason`
 * (default `invalidFieldType`) and the bad entries are dropped.
 */
export function readStringMap(
  obj: JsonObject,
  names: readonly string[],
  path: string,
  issues: ValidationIssue[],
  reason: ValidationReason = "invalidFieldType",
): Readonly<Record<string, string>> {
  const field = joinPath(path, names[0] ?? "");
  const value = pick(obj, names);
  if (value === undefined) return {};
  if (!isJsonObject(value)) {
    addIssue(issues, reason, field, `expected a map of strings, got ${jsonType(value)}`);
    return {};
  }
  const entries: [string, string][] = [];
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === "string") entries.push([key, entry]);
    else addIssue(issues, reason, joinPath(field, key), `expected a string value, got ${jsonType(entry)}`);
  }
  return Object.fromEntries(entries);
}

/** Reads a `[]string` (`[]` when absent); a non-array or a non-string element records `invalidFieldType`. */
export function readStringArray(
  obj: JsonObject,
  names: readonly string[],
  path: string,
  issues: ValidationIssue[],
): readonly string[] {
  const field = joinPath(path, names[0] ?? "");
  const value = pick(obj, names);
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    addIssue(issues, "invalidFieldType", field, `expected an array of strings, got ${jsonType(value)}`);
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, index) => {
    if (typeof item === "string") out.push(item);
    else addIssue(issues, "invalidFieldType", `${field}[${index}]`, `expected a string, got ${jsonType(item)}`);
  });
  return out;
}
