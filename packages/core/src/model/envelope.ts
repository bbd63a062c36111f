import { err, ok, type Result } from "../result.js";
import { readObjectMeta, validationError, type ObjectMetaOptions } from "./parse-object-meta.js";
import type { ObjectMeta } from "./types.js";
import type { ValidationError, ValidationIssue } from "./validation.js";
import { addIssue, isJsonObject, jsonType, readObject, type JsonObject } from "./wire-reader.js";

/** What every object parser reads first: the object itself, its metadata and its `spec`. */
export interface Envelope {
  readonly object: JsonObject;
  readonly metadata: ObjectMeta;
  /** `spec`, or `{}` when absent or not an object (Go decodes a missing spec as the zero value). */
  readonly spec: JsonObject;
  /** Issues found so far; parsers append theirs. */
  readonly issues: ValidationIssue[];
}

/**
 * Checks that `raw` is an object of `options.objectKind` (a `kind` field, when present, must match; list
 * items from the API often omit it) and reads `metadata` and `spec`. Returns the error directly when `raw`
 * is not an object at all, since nothing else can be read.
 */
export function readEnvelope(raw: unknown, options: ObjectMetaOptions): Result<Envelope, ValidationError> {
  if (!isJsonObject(raw)) {
    return err(
      validationError(options.objectKind, { name: "", namespace: "" }, [
        { reason: "notAnObject", field: "", message: `expected a JSON object, got ${jsonType(raw)}` },
      ]),
    );
  }
  const issues: ValidationIssue[] = [];
  const kind = raw["kind"];
  if (kind !== undefined && kind !== null && kind !== options.objectKind) {
    addIssue(issues, "wrongKind", "kind", `expected kind ${options.objectKind}, got ${JSON.stringify(kind) ?? jsonType(kind)}`);
  }
  const metadata = readObjectMeta(raw["metadata"], "metadata", options, issues);
  const spec = readObject(raw, ["spec"], "", issues) ?? {};
  return ok({ object: raw, metadata, spec, issues });
}

/** The parse result: `value` when no issue was recorded, otherwise every issue. */
export function finishParse<T>(objectKind: string, envelope: Envelope, value: T): Result<T, ValidationError> {
  return envelope.issues.length === 0 ? ok(value) : err(validationError(objectKind, envelope.metadata, envelope.issues));
}
