/**
 * Per-kind rules the real registry strategies apply on create and update ("PrepareForCreate" /
 * "PrepareForUpdate"), reduced to what matters to clients of this fake:
 * - objects with a `status` subresource ignore `status` on create and on updates of the main resource,
 *   and status updates change nothing but `status` (the custom-resource status strategy);
 * - a new pod starts as `status.phase: Pending` (a kubelet would move it on; tests set status through
 *   `pods/status` or `store.upsert`); a new namespace is `Active`; nodes keep the status they are created with;
 * - custom resources and CRDs get `metadata.generation` 1, increased when anything outside `metadata` and
 *   `status` changes (built-in kinds of a v1.29 server other than those have no generation);
 * - Secrets: `stringData` is merged into `data` (base64) and dropped, `type` defaults to `Opaque`;
 * - CustomResourceDefinitions get the status the apiextensions controllers would write.
 * @packageDocumentation
 */
import { cloneJson, isJsonObject, jsonEqual, type JsonObject, type KubeObject } from "./json.js";
import { crdStatus } from "./crd-resources.js";
import type { ResourceDefinition } from "./resource-definition.js";

/** Whether `def` is the built-in CustomResourceDefinition resource. */
export function isCrdResource(def: Pick<ResourceDefinition, "group" | "plural">): boolean {
  return def.group === "apiextensions.k8s.io" && def.plural === "customresourcedefinitions";
}

/** Whether `def` is the built-in Namespace resource. */
export function isNamespaceResource(def: Pick<ResourceDefinition, "group" | "plural">): boolean {
  return def.group === "" && def.plural === "namespaces";
}

/** Whether objects of `def` carry `metadata.generation`. */
export function hasGeneration(def: ResourceDefinition): boolean {
  return def.crdName !== undefined || isCrdResource(def);
}

function foldSecretStringData(def: ResourceDefinition, obj: KubeObject): void {
  if (def.group !== "" || def.plural !== "secrets") return;
  const stringData = obj["stringData"];
  if (isJsonObject(stringData)) {
    const data: JsonObject = isJsonObject(obj["data"]) ? { ...obj["data"] } : {};
    for (const [key, value] of Object.entries(stringData)) {
      if (typeof value === "string") data[key] = Buffer.from(value, "utf8").toString("base64");
    }
    obj["data"] = data;
  }
  delete obj["stringData"];
  if (obj["type"] === undefined || obj["type"] === "") obj["type"] = "Opaque";
}

/** Applies the create-time strategy of `def` to `obj` in place. */
export function prepareForCreate(def: ResourceDefinition, obj: KubeObject, now: string): void {
  foldSecretStringData(def, obj);
  if (hasGeneration(def)) obj.metadata["generation"] = 1;
  else delete obj.metadata["generation"];
  if (isCrdResource(def)) {
    obj["status"] = crdStatus(obj, undefined, now);
    return;
  }
  if (def.group === "" && def.plural === "pods") {
    obj["status"] = { phase: "Pending" };
    return;
  }
  if (isNamespaceResource(def)) {
    obj["status"] = { phase: "Active" };
    return;
  }
  if (def.statusSubresource && def.crdName !== undefined) delete obj["status"];
}

/**
 * Builds the object an update stores from the `old` object and the client's `candidate` (whose identity
 * and preconditions have been checked), for the main resource or the `status` subresource.
 */
export function prepareForUpdate(def: ResourceDefinition, old: KubeObject, candidate: KubeObject, subresource: "status" | undefined, now: string): KubeObject {
  let next: KubeObject;
  if (def.statusSubresource && subresource === "status") {
    next = cloneJson(old);
    if (candidate["status"] === undefined) delete next["status"];
    else next["status"] = cloneJson(candidate["status"]);
    return next;
  }
  next = cloneJson(candidate);
  if (def.statusSubresource) {
    if (old["status"] === undefined) delete next["status"];
    else next["status"] = cloneJson(old["status"]);
  }
  const meta = next.metadata;
  for (const key of ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] as const) {
    const value = old.metadata[key];
    if (value === undefined) delete meta[key];
    else meta[key] = cloneJson(value);
  }
  delete meta["selfLink"];
  foldSecretStringData(def, next);
  if (hasGeneration(def) && !jsonEqual(withoutMetaAndStatus(old), withoutMetaAndStatus(next))) {
    const generation = typeof old.metadata["generation"] === "number" ? old.metadata["generation"] : 0;
    meta["generation"] = generation + 1;
  }
  if (isCrdResource(def)) next["status"] = crdStatus(next, old, now);
  return next;
}

function withoutMetaAndStatus(obj: KubeObject): JsonObject {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
  return rest;
}

/** Finalizers present in `next` but not in `old` (forbidden once deletion has started). */
export function addedFinalizers(old: KubeObject, next: KubeObject): string[] {
  const before = new Set(finalizersOf(old));
  return finalizersOf(next).filter((f) => !before.has(f));
}

/** `metadata.finalizers` as strings. */
export function finalizersOf(obj: KubeObject): string[] {
  const value = obj.metadata["finalizers"];
  return Array.isArray(value) ? value.filter((f): f is string => typeof f === "string") : [];
}

/** Whether `value` is a JSON object usable as `metadata`. */
export function hasObjectMetadata(value: unknown): value is KubeObject {
  return isJsonObject(value) && isJsonObject(value["metadata"]);
}

const OMIT_WHEN_EMPTY = ["labels", "annotations", "finalizers", "ownerReferences", "managedFields"] as const;

/**
 * Drops empty `labels`/`annotations`/`finalizers`/`ownerReferences`/`managedFields` and null metadata values,
 * as Go's `omitempty` does when the real server stores ObjectMeta — so `{"labels": {"x": null}}` merged into
 * an object without labels is a no-op (no new resourceVersion), exactly as on a real cluster.
 */
export function normalizeMetadata(obj: KubeObject): void {
  const meta = obj.metadata;
  for (const [key, value] of Object.entries(meta)) if (value === null) delete meta[key];
  for (const key of OMIT_WHEN_EMPTY) {
    const value = meta[key];
    if ((Array.isArray(value) && value.length === 0) || (isJsonObject(value) && Object.keys(value).length === 0)) delete meta[key];
  }
}
