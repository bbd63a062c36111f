import { err, ok, type Result } from "../result.js";
import type { ObjectMeta } from "./types.js";
import type { ValidationError, ValidationIssue } from "./validation.js";
import {
  addIssue,
  isJsonObject,
  joinPath,
  jsonType,
  readOptionalInteger,
  readOptionalString,
  readString,
  readStringArray,
  readStringMap,
} from "./wire-reader.js";

/** Options of {@link parseObjectMeta} and of the object parsers. */
export interface ObjectMetaOptions {
  /** Kind of the owning object, for error reports. */
  readonly objectKind: string;
  /** Namespaced objects need `metadata.namespace`; cluster-scoped ones (nodes) always get `""`. */
  readonly namespaced: boolean;
  /**
   * Namespace to assume when `metadata.namespace` is absent. Only used for the copies of identities and
   * bindings embedded in an AzureAssignedIdentity (see `parseAzureAssignedIdentity`).
   */
  readonly defaultNamespace?: string;
}

/**
 * Reads the `metadata` value of an object (already taken from its parent), recording issues under
 * `path` (usually `metadata`). Always returns a usable {@link ObjectMeta} (missing parts as `""`/empty) so
 * callers can keep validating and can name the object in the error.
 */
export function readObjectMeta(
  value: unknown,
  path: string,
  options: ObjectMetaOptions,
  issues: ValidationIssue[],
): ObjectMeta {
  if (value === undefined || value === null) {
    addIssue(issues, "missingMetadata", path, "metadata is missing");
    return { name: "", namespace: options.defaultNamespace ?? "", labels: {}, annotations: {}, finalizers: [] };
  }
  if (!isJsonObject(value)) {
    addIssue(issues, "invalidFieldType", path, `expected an object, got ${jsonType(value)}`);
    return { name: "", namespace: options.defaultNamespace ?? "", labels: {}, annotations: {}, finalizers: [] };
  }
  const name = readString(value, ["name"], path, issues);
  if (name === "") addIssue(issues, "missingName", joinPath(path, "name"), "metadata.name is required");
  let namespace = "";
  if (options.namespaced) {
    namespace = readString(value, ["namespace"], path, issues);
    if (namespace === "") namespace = options.defaultNamespace ?? "";
    if (namespace === "") addIssue(issues, "missingNamespace", joinPath(path, "namespace"), "metadata.namespace is required");
  }
  const uid = readOptionalString(value, ["uid"], path, issues);
  const resourceVersion = readOptionalString(value, ["resourceVersion"], path, issues);
  const generation = readOptionalInteger(value, ["generation"], path, issues);
  const creationTimestamp = readOptionalString(value, ["creationTimestamp"], path, issues);
  const deletionTimestamp = readOptionalString(value, ["deletionTimestamp"], path, issues);
  return {
    name,
    namespace,
    ...(uid !== undefined ? { uid } : {}),
    ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    ...(generation !== undefined ? { generation } : {}),
    ...(creationTimestamp !== undefined ? { creationTimestamp } : {}),
    ...(deletionTimestamp !== undefined ? { deletionTimestamp } : {}),
    labels: readStringMap(value, ["labels"], path, issues),
    annotations: readStringMap(value, ["annotations"], path, issues),
    finalizers: readStringArray(value, ["finalizers"], path, issues),
  };
}

/**
 * Parses a raw `metadata` object. Namespaced objects need a name and a namespace; cluster-scoped ones a
 * name (their namespace is always `""`). Empty optional strings (`uid`, timestamps…) are dropped, as the
 * API server omits them.
 */
export function parseObjectMeta(raw: unknown, options: ObjectMetaOptions): Result<ObjectMeta, ValidationError> {
  const issues: ValidationIssue[] = [];
  const meta = readObjectMeta(raw, "metadata", options, issues);
  return issues.length === 0 ? ok(meta) : err(validationError(options.objectKind, meta, issues));
}

/** A {@link ValidationError} for the object named by `meta`. */
export function validationError(
  objectKind: string,
  meta: Pick<ObjectMeta, "name" | "namespace">,
  issues: readonly ValidationIssue[],
): ValidationError {
  return { kind: "invalid", objectKind, namespace: meta.namespace, name: meta.name, issues };
}
