/**
 * Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds — what kubectl sends by
 * default for `kubectl patch` and for `kubectl apply` of built-in objects.
 *
 * Supported: maps merge recursively and `null` deletes a key (as in a merge patch); the `$patch: replace` and
 * `$patch: delete` directives on maps and list elements; `$retainKeys`; `$deleteFromPrimitiveList/<field>`;
 * lists the real Go types declare with `patchStrategy: merge` merge by their merge key (table
 * {@link MERGE_LISTS}: containers/volumes/env by `name`, ports by `containerPort`, conditions by `type`,
 * ownerReferences by `uid`, …) and `metadata.finalizers` merges as a set.
 *
 * Limits (documented deviations): `$setElementOrder/<field>` directives are accepted and dropped (merged lists
 * keep the existing order, new elements are appended); lists not in the table are replaced whole; the table
 * covers the kinds this fake serves, not every Kubernetes type.
 * @packageDocumentation
 */
import { cloneJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from "./json.js";
import { badRequest } from "./status.js";

/** How one list field merges. */
export type ListStrategy = { readonly mergeKey: string } | { readonly primitiveSet: true };

/** Merge lists of a Pod (the Go types' `patchStrategy: merge` fields). */
const POD_LISTS: Readonly<Record<string, ListStrategy>> = {
  "spec.containers": { mergeKey: "name" },
  "spec.initContainers": { mergeKey: "name" },
  "spec.ephemeralContainers": { mergeKey: "name" },
  "spec.containers.ports": { mergeKey: "containerPort" },
  "spec.initContainers.ports": { mergeKey: "containerPort" },
  "spec.containers.env": { mergeKey: "name" },
  "spec.initContainers.env": { mergeKey: "name" },
  "spec.containers.volumeMounts": { mergeKey: "mountPath" },
  "spec.initContainers.volumeMounts": { mergeKey: "mountPath" },
  "spec.containers.volumeDevices": { mergeKey: "devicePath" },
  "spec.volumes": { mergeKey: "name" },
  "spec.imagePullSecrets": { mergeKey: "name" },
  "spec.hostAliases": { mergeKey: "ip" },
  "spec.schedulingGates": { mergeKey: "name" },
  "spec.resourceClaims": { mergeKey: "name" },
  "status.podIPs": { mergeKey: "ip" },
  "status.hostIPs": { mergeKey: "ip" },
};

/** The same lists inside a workload's pod template (`spec.template.spec.containers`, …). */
function podTemplateLists(pod: Readonly<Record<string, ListStrategy>>): Readonly<Record<string, ListStrategy>> {
  return Object.fromEntries(Object.entries(pod).filter(([path]) => path.startsWith("spec.")).map(([path, strategy]) => [`spec.template.${path}`, strategy]));
}

/**
 * List fields with `patchStrategy: merge`, by kind, keyed by dotted path with list elements elided
 * (`spec.containers.env` is the `env` list inside any container). `*` applies to every kind.
 */
export const MERGE_LISTS: Readonly<Record<string, Readonly<Record<string, ListStrategy>>>> = {
  "*": {
    "metadata.finalizers": { primitiveSet: true },
    "metadata.ownerReferences": { mergeKey: "uid" },
    "status.conditions": { mergeKey: "type" },
  },
  Pod: POD_LISTS,
  // Workloads carry a pod template whose lists merge like a pod's.
  Deployment: podTemplateLists(POD_LISTS),
  DaemonSet: podTemplateLists(POD_LISTS),
  Node: {
    "spec.podCIDRs": { primitiveSet: true },
    "status.addresses": { mergeKey: "type" },
  },
};

const SET_ORDER_PREFIX = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/";

function strategyFor(kind: string, path: string): ListStrategy | undefined {
  return MERGE_LISTS[kind]?.[path] ?? MERGE_LISTS["*"]?.[path];
}

/** Applies a strategic merge patch for an object of `kind`; throws a 400 `ApiError` on malformed directives. */
export function applyStrategicMergePatch(kind: string, target: JsonObject, patch: JsonValue): JsonObject {
  if (!isJsonObject(patch)) throw badRequest("strategic merge patch must be a JSON object");
  const merged = mergeMap(kind, "", target, patch);
  if (merged === undefined) throw badRequest("a strategic merge patch cannot delete the whole object");
  return merged;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Merges map `patch` into `original`; `undefined` means the map was deleted (`$patch: delete`). */
function mergeMap(kind: string, path: string, original: JsonObject | undefined, patch: JsonObject): JsonObject | undefined {
  const directive = patch["$patch"];
  if (directive === "delete") return undefined;
  if (directive === "replace") return stripDirectives(patch);
  if (directive !== undefined && directive !== "merge") throw badRequest(`unknown patch type: ${String(directive)}`);
  let result: JsonObject = original === undefined ? {} : cloneJson(original);
  const retain = patch["$retainKeys"];
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === "string")) throw badRequest("$retainKeys must be a list of strings");
    const keep = new Set(retain as string[]);
    result = Object.fromEntries(Object.entries(result).filter(([k]) => keep.has(k)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys" || key.startsWith(SET_ORDER_PREFIX)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_PREFIX)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_PREFIX.length);
      if (!Array.isArray(value)) throw badRequest(`${key} must be a list`);
      const current = result[field];
      if (Array.isArray(current)) result[field] = current.filter((item) => !value.some((v) => jsonEqual(v, item)));
      continue;
    }
    const childPath = join(path, key);
    if (value === null) {
      delete result[key];
    } else if (isJsonObject(value)) {
      const current = result[key];
      const merged = mergeMap(kind, childPath, isJsonObject(current) ? current : undefined, value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      const current = result[key];
      result[key] = mergeList(kind, childPath, Array.isArray(current) ? current : [], value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

function mergeList(kind: string, path: string, original: JsonValue[], patch: JsonValue[]): JsonValue[] {
  const replaceAll = patch.find((item) => isJsonObject(item) && item["$patch"] === "replace" && Object.keys(item).length === 1);
  if (replaceAll !== undefined) return patch.filter((item) => item !== replaceAll).map((item) => stripDirectives(item));
  const strategy = strategyFor(kind, path);
  if (strategy === undefined) return patch.map((item) => stripDirectives(item));
  if ("primitiveSet" in strategy) {
    const result = [...original];
    for (const item of patch) if (!result.some((existing) => jsonEqual(existing, item))) result.push(item);
    return result;
  }
  const key = strategy.mergeKey;
  const result = original.map((item) => cloneJson(item));
  for (const item of patch) {
    if (!isJsonObject(item)) throw badRequest(`list ${path} merges by "${key}" and needs object elements`);
    const id = item[key];
    if (id === undefined) throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const index = result.findIndex((existing) => isJsonObject(existing) && jsonEqual(existing[key], id));
    if (item["$patch"] === "delete") {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    const existing = index >= 0 ? result[index] : undefined;
    const merged = mergeMap(kind, path, isJsonObject(existing) ? existing : undefined, item);
    if (merged === undefined) {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = merged;
    } else {
      result.push(merged);
    }
  }
  return result;
}

function stripDirectives<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => stripDirectives(v)) as T;
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith(SET_ORDER_PREFIX) || k.startsWith(DELETE_FROM_PRIMITIVE_PREFIX)) continue;
    out[k] = stripDirectives(v);
  }
  return out as T;
}
