/**
 * The API semantics of the fake, independent of HTTP: create (with `generateName`), get, list (selectors,
 * `limit`/`continue`, resourceVersion rules), update with optimistic concurrency, the three patch types,
 * delete with finalizers and `deletionTimestamp`, deletecollection, the `status` subresource, dry runs,
 * and the side effects of CRDs (registering and unregistering resources) and namespaces (cascading delete).
 * Every failure is thrown as an {@link ApiError} carrying the real server's `Status`.
 * @packageDocumentation
 */
import { randomUUID } from "node:crypto";
import { crdResourceDefinitions } from "./crd-resources.js";
import { matchesFields, type FieldSelector } from "./field-selector.js";
import { applyJsonPatch } from "./json-patch.js";
import { cloneJson, isJsonObject, jsonEqual, stringAt, stringMapAt, type JsonObject, type JsonValue, type KubeObject } from "./json.js";
import { matchesLabels, type LabelSelector } from "./label-selector.js";
import { applyMergePatch } from "./merge-patch.js";
import { addedFinalizers, finalizersOf, isCrdResource, isNamespaceResource, normalizeMetadata, prepareForCreate, prepareForUpdate } from "./object-rules.js";
import { compareKeys, objectKey, type ObjectStore, type StoreEvent } from "./object-store.js";
import { apiVersionOf, storageKeyOf, type ResourceDefinition } from "./resource-definition.js";
import type { ResourceRegistry } from "./resource-registry.js";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  notFound,
  tooLargeResourceVersion,
  unsupportedMediaType,
  type ErrorSubject,
} from "./status.js";
import { applyStrategicMergePatch } from "./strategic-merge-patch.js";
import { rfc3339 } from "./time.js";

/** The patch content types the fake accepts. */
export const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;

/** Options shared by writes. */
export interface WriteOptions {
  /** `dryRun=All`: compute and validate the result but store nothing. */
  readonly dryRun?: boolean;
  /** Write through the `status` subresource. */
  readonly subresource?: "status";
}

/** The subset of meta/v1 `DeleteOptions` the fake reads. */
export interface DeleteRequestOptions {
  readonly dryRun?: boolean;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  /** `Orphan`, `Background` or `Foreground`: accepted and validated; there is no garbage collector. */
  readonly propagationPolicy?: string;
}

/** Selection of a list, watch or deletecollection. */
export interface Selection {
  /** Restrict to one namespace (namespaced resources only). */
  readonly namespace?: string;
  readonly labelSelector?: LabelSelector;
  readonly fieldSelector?: FieldSelector;
}

/** Parameters of a list call. */
export interface ListRequest extends Selection {
  readonly limit?: number;
  readonly continueToken?: string;
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: string;
}

/** The result of a list call (before rendering). */
export interface ListResult {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
  readonly continueToken?: string;
  readonly remainingItemCount?: number;
}

/** Options of {@link ResourceApi}. */
export interface ResourceApiOptions {
  /** Source of timestamps (default: the system clock). */
  readonly now?: () => Date;
  /** Enforce DNS-1123 names like the real server (default true). */
  readonly validateNames?: boolean;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Whether an object passes a selection. */
export function matchesSelection(selection: Selection, obj: KubeObject): boolean {
  if (selection.namespace !== undefined && stringAt(obj.metadata, "namespace") !== selection.namespace) return false;
  if (selection.labelSelector !== undefined && !matchesLabels(selection.labelSelector, stringMapAt(obj.metadata, "labels"))) return false;
  if (selection.fieldSelector !== undefined && !matchesFields(selection.fieldSelector, obj)) return false;
  return true;
}

/** `obj` as served for `def`: `apiVersion` and `kind` of that version first, then the rest. */
export function presentObject(def: ResourceDefinition, obj: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = cloneJson(obj);
  return { apiVersion: apiVersionOf(def), kind: def.kind, ...rest } as KubeObject;
}

function parseRevision(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw badRequest(`invalid ${what}: "${value}"`);
  return Number(value);
}

interface ContinueToken {
  readonly rv: number;
  readonly start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: "podid.fake/v1", rv: token.rv, start: token.start })).toString("base64url");
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (isJsonObject(parsed) && typeof parsed["rv"] === "number" && typeof parsed["start"] === "string") {
      return { rv: parsed["rv"], start: parsed["start"] };
    }
  } catch {
    // fall through
  }
  throw badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
}

/** The Kubernetes API operations over a registry and a store. */
export class ResourceApi {
  readonly registry: ResourceRegistry;
  readonly store: ObjectStore;
  readonly #now: () => Date;
  readonly #validateNames: boolean;

  constructor(registry: ResourceRegistry, store: ObjectStore, options: ResourceApiOptions = {}) {
    this.registry = registry;
    this.store = store;
    this.#now = options.now ?? (() => new Date());
    this.#validateNames = options.validateNames ?? true;
    store.subscribe((event) => this.#afterCommit(event));
  }

  /** The current time (for ages in tables). */
  now(): Date {
    return this.#now();
  }

  /** The error subject of `def`/`name`. */
  subject(def: ResourceDefinition, name?: string): ErrorSubject {
    return { resource: def.plural, group: def.group, ...(name !== undefined ? { name } : {}) };
  }

  /** GET of one object. */
  get(def: ResourceDefinition, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(storageKeyOf(def), this.#ns(def, namespace), name);
    if (found === undefined) throw notFound(this.subject(def, name));
    return presentObject(def, found);
  }

  /** LIST with selectors, paging and the resourceVersion rules of the real server. */
  list(def: ResourceDefinition, request: ListRequest): ListResult {
    const key = storageKeyOf(def);
    const current = this.store.revision;
    let revision = current;
    let items: KubeObject[];
    let start: string | undefined;
    if (request.continueToken !== undefined && request.continueToken !== "") {
      const token = decodeContinue(request.continueToken);
      const snapshot = this.store.snapshot(key, token.rv);
      if (snapshot === "expired") {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      items = snapshot;
      revision = token.rv;
      start = token.start;
    } else {
      const rv = request.resourceVersion ?? "";
      const match = request.resourceVersionMatch ?? "";
      if (match !== "" && match !== "NotOlderThan" && match !== "Exact") throw badRequest(`invalid resourceVersionMatch: "${match}"`);
      if (match !== "" && rv === "") {
        throw invalid({ resource: def.plural, group: def.group }, [{ field: "resourceVersionMatch", message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided" }]);
      }
      if (rv === "" || rv === "0") {
        items = this.store.list(key);
      } else {
        const requested = parseRevision(rv, "resourceVersion");
        if (requested > current) throw tooLargeResourceVersion(requested, current);
        // Stricter than the watch cache (which serves NotOlderThan from newer data): an expired revision is
        // always 410 here, so that clients' "relist on 410" paths can be exercised on demand.
        if (requested < this.store.compactedRevision) throw expired(`too old resource version: ${requested} (${this.store.compactedRevision})`);
        if (match === "Exact") {
          const snapshot = this.store.snapshot(key, requested);
          if (snapshot === "expired") throw expired(`too old resource version: ${requested} (${this.store.compactedRevision})`);
          items = snapshot;
          revision = requested;
        } else {
          items = this.store.list(key);
        }
      }
    }
    const selected = items.filter((obj) => matchesSelection(request, obj));
    const keyed = selected.map((obj) => ({ key: objectKey(stringAt(obj.metadata, "namespace"), stringAt(obj.metadata, "name") ?? ""), obj }));
    const after = start === undefined ? keyed : keyed.filter((entry) => compareKeys(entry.key, start) > 0);
    const limit = request.limit !== undefined && request.limit > 0 ? request.limit : undefined;
    const page = limit === undefined ? after : after.slice(0, limit);
    const remaining = after.length - page.length;
    const last = page[page.length - 1];
    const result: ListResult = {
      items: page.map((entry) => presentObject(def, entry.obj)),
      resourceVersion: String(revision),
      ...(remaining > 0 && last !== undefined ? { continueToken: encodeContinue({ rv: revision, start: last.key }), remainingItemCount: remaining } : {}),
    };
    return result;
  }

  /** POST: creates an object from `body` in `namespace`. */
  create(def: ResourceDefinition, namespace: string | undefined, body: JsonValue, options: WriteOptions = {}): KubeObject {
    const obj = this.#checkBody(def, body);
    const meta = obj.metadata;
    const ns = this.#ns(def, namespace);
    if (def.namespaced) {
      const bodyNs = stringAt(meta, "namespace");
      if (bodyNs !== undefined && bodyNs !== "" && bodyNs !== ns) {
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      if (ns === undefined || ns === "") throw badRequest("the namespace of the object is required");
      meta["namespace"] = ns;
    } else {
      delete meta["namespace"];
    }
    const key = storageKeyOf(def);
    let name = stringAt(meta, "name") ?? "";
    const generateName = stringAt(meta, "generateName") ?? "";
    if (name === "" && generateName !== "") {
      for (let attempt = 0; attempt < 16; attempt += 1) {
        const candidate = generateName + Array.from({ length: 5 }, () => GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)]).join("");
        if (this.store.get(key, ns, candidate) === undefined) {
          name = candidate;
          break;
        }
      }
      if (name === "") throw alreadyExists(this.subject(def, generateName));
    }
    if (name === "") {
      throw invalid(this.subject(def, ""), [{ field: "metadata.name", message: "Required value: name or generateName is required" }]);
    }
    this.#checkName(def, name);
    meta["name"] = name;
    if (this.store.get(key, ns, name) !== undefined) throw alreadyExists(this.subject(def, name));
    const now = rfc3339(this.#now());
    meta["uid"] = randomUUID();
    meta["creationTimestamp"] = now;
    for (const k of ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"]) delete meta[k];
    obj["apiVersion"] = apiVersionOf(def);
    obj["kind"] = def.kind;
    prepareForCreate(def, obj, now);
    normalizeMetadata(obj);
    if (isCrdResource(def)) this.#checkCrd(obj);
    if (options.dryRun === true) return presentObject(def, obj);
    return presentObject(def, this.store.put(key, obj).object);
  }

  /** PUT: replaces an object (optimistic concurrency when `metadata.resourceVersion` is set). */
  update(def: ResourceDefinition, namespace: string | undefined, name: string, body: JsonValue, options: WriteOptions = {}): KubeObject {
    const candidate = this.#checkBody(def, body);
    const old = this.#existing(def, namespace, name);
    this.#checkIdentity(def, old, candidate, name);
    return this.#commitUpdate(def, old, candidate, options);
  }

  /** PATCH with one of {@link PATCH_TYPES} (server-side apply is not supported: 415). */
  patch(def: ResourceDefinition, namespace: string | undefined, name: string, contentType: string, patch: JsonValue, options: WriteOptions = {}): KubeObject {
    if (contentType === PATCH_TYPES.apply) {
      throw unsupportedMediaType(`${contentType} (server-side apply is not supported by this fake; use kubectl apply without --server-side)`);
    }
    const old = this.#existing(def, namespace, name);
    let patched: JsonObject;
    switch (contentType) {
      case PATCH_TYPES.json:
        patched = applyJsonPatch(old, patch);
        break;
      case PATCH_TYPES.merge: {
        const merged = applyMergePatch(old, patch);
        if (!isJsonObject(merged)) throw badRequest("merge patch must be a JSON object");
        patched = merged;
        break;
      }
      case PATCH_TYPES.strategic:
        if (!def.strategicMerge) throw unsupportedMediaType(`${contentType} (strategic merge patch is not supported for custom resources; use merge or json patch)`);
        patched = applyStrategicMergePatch(def.kind, old, patch);
        break;
      default:
        throw unsupportedMediaType(contentType);
    }
    if (!isJsonObject(patched["metadata"])) throw badRequest("the patch removed metadata");
    const candidate = patched as KubeObject;
    this.#checkIdentity(def, old, candidate, name);
    return this.#commitUpdate(def, old, candidate, options);
  }

  /**
   * DELETE: an object without finalizers goes at once; one with finalizers gets `deletionTimestamp` and
   * stays until an update empties `metadata.finalizers`. Pods are deleted at once (no kubelet to wait for).
   */
  delete(def: ResourceDefinition, namespace: string | undefined, name: string, options: DeleteRequestOptions = {}): KubeObject {
    const policy = options.propagationPolicy;
    if (policy !== undefined && policy !== "Orphan" && policy !== "Background" && policy !== "Foreground") {
      throw badRequest(`propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
    }
    const old = this.#existing(def, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== old.metadata["uid"]) {
      throw conflict(this.subject(def, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(old.metadata["uid"])}`);
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== old.metadata["resourceVersion"]) {
      throw conflict(this.subject(def, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(old.metadata["resourceVersion"])}`);
    }
    const dryRun = options.dryRun === true;
    if (isNamespaceResource(def) && !dryRun) this.#deleteNamespaceContents(name);
    return this.#deleteObject(def, old, dryRun);
  }

  /** DELETE on a collection: deletes every selected object; returns them. */
  deleteCollection(def: ResourceDefinition, selection: Selection, options: DeleteRequestOptions = {}): KubeObject[] {
    const targets = this.store.list(storageKeyOf(def)).filter((obj) => matchesSelection(selection, obj));
    return targets.map((obj) => this.delete(def, stringAt(obj.metadata, "namespace"), stringAt(obj.metadata, "name") ?? "", options));
  }

  #deleteObject(def: ResourceDefinition, old: KubeObject, dryRun: boolean): KubeObject {
    const key = storageKeyOf(def);
    const ns = stringAt(old.metadata, "namespace");
    const name = stringAt(old.metadata, "name") ?? "";
    if (finalizersOf(old).length > 0) {
      if (old.metadata["deletionTimestamp"] !== undefined) return presentObject(def, old);
      const next = cloneJson(old);
      next.metadata["deletionTimestamp"] = rfc3339(this.#now());
      next.metadata["deletionGracePeriodSeconds"] = 0;
      if (dryRun) return presentObject(def, next);
      return presentObject(def, this.store.put(key, next).object);
    }
    if (dryRun) return presentObject(def, old);
    const event = this.store.remove(key, ns, name);
    return presentObject(def, event?.object ?? old);
  }

  #deleteNamespaceContents(namespace: string): void {
    for (const def of this.registry.all()) {
      if (!def.namespaced) continue;
      for (const obj of this.store.list(storageKeyOf(def), namespace)) {
        const current = this.store.get(storageKeyOf(def), namespace, stringAt(obj.metadata, "name") ?? "");
        if (current !== undefined) this.#deleteObject(def, current, false);
      }
    }
  }

  #commitUpdate(def: ResourceDefinition, old: KubeObject, candidate: KubeObject, options: WriteOptions): KubeObject {
    const now = rfc3339(this.#now());
    const next = prepareForUpdate(def, old, candidate, options.subresource, now);
    next["apiVersion"] = apiVersionOf(def);
    next["kind"] = def.kind;
    normalizeMetadata(next);
    next.metadata["resourceVersion"] = old.metadata["resourceVersion"] ?? "";
    const name = stringAt(old.metadata, "name") ?? "";
    if (old.metadata["deletionTimestamp"] !== undefined) {
      const added = addedFinalizers(old, next);
      if (added.length > 0) {
        throw invalid(this.subject(def, name), [{ field: "metadata.finalizers", message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
      }
    }
    if (isCrdResource(def)) this.#checkCrd(next);
    const oldComparable = { ...old, apiVersion: next["apiVersion"], kind: next["kind"] };
    if (jsonEqual(oldComparable, next)) return presentObject(def, old);
    if (options.dryRun === true) return presentObject(def, next);
    const key = storageKeyOf(def);
    if (next.metadata["deletionTimestamp"] !== undefined && finalizersOf(next).length === 0) {
      this.store.put(key, next);
      const removed = this.store.remove(key, stringAt(next.metadata, "namespace"), name);
      return presentObject(def, removed?.object ?? next);
    }
    return presentObject(def, this.store.put(key, next).object);
  }

  #existing(def: ResourceDefinition, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(storageKeyOf(def), this.#ns(def, namespace), name);
    if (found === undefined) throw notFound(this.subject(def, name));
    return found;
  }

  #ns(def: ResourceDefinition, namespace: string | undefined): string | undefined {
    return def.namespaced ? namespace : undefined;
  }

  #checkBody(def: ResourceDefinition, body: JsonValue): KubeObject {
    if (!isJsonObject(body)) throw badRequest("the body of the request must be a JSON object");
    const obj = cloneJson(body);
    const kind = obj["kind"];
    if (kind !== undefined && kind !== def.kind) {
      throw badRequest(`the kind of the object (${String(kind)}) does not match the resource (${def.kind})`);
    }
    const apiVersion = obj["apiVersion"];
    if (apiVersion !== undefined && apiVersion !== apiVersionOf(def)) {
      throw badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(def)})`);
    }
    if (obj["metadata"] === undefined) obj["metadata"] = {};
    if (!isJsonObject(obj["metadata"])) throw badRequest("metadata must be an object");
    return obj as KubeObject;
  }

  #checkIdentity(def: ResourceDefinition, old: KubeObject, candidate: KubeObject, name: string): void {
    const meta = candidate.metadata;
    const bodyName = stringAt(meta, "name");
    if (bodyName !== undefined && bodyName !== name) {
      throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    }
    meta["name"] = name;
    const oldNs = stringAt(old.metadata, "namespace");
    const bodyNs = stringAt(meta, "namespace");
    if (def.namespaced && bodyNs !== undefined && bodyNs !== "" && bodyNs !== oldNs) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    if (oldNs === undefined) delete meta["namespace"];
    else meta["namespace"] = oldNs;
    const rv = meta["resourceVersion"];
    if (rv !== undefined && rv !== null && rv !== "" && rv !== old.metadata["resourceVersion"]) throw conflict(this.subject(def, name));
    const uid = meta["uid"];
    if (uid !== undefined && uid !== null && uid !== "" && uid !== old.metadata["uid"]) {
      throw conflict(this.subject(def, name), `Precondition failed: UID in precondition: ${String(uid)}, UID in object meta: ${String(old.metadata["uid"])}`);
    }
  }

  #checkName(def: ResourceDefinition, name: string): void {
    if (!this.#validateNames) return;
    const label = isNamespaceResource(def);
    const ok = label ? DNS_LABEL.test(name) && name.length <= 63 : DNS_SUBDOMAIN.test(name) && name.length <= 253;
    if (!ok) {
      const rule = label
        ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
      throw invalid(this.subject(def, name), [{ field: "metadata.name", message: `Invalid value: "${name}": ${rule}` }]);
    }
  }

  #checkCrd(obj: KubeObject): void {
    const defs = crdResourceDefinitions(obj);
    for (const def of defs) {
      const existing = this.registry.lookup(def.group, def.version, def.plural);
      if (existing !== undefined && existing.crdName !== def.crdName) {
        throw invalid({ resource: "customresourcedefinitions", group: "apiextensions.k8s.io", name: stringAt(obj.metadata, "name") ?? "" }, [
          { field: "spec.names.plural", message: `Invalid value: "${def.plural}": is already served by ${apiVersionOf(def)}` },
        ]);
      }
    }
  }

  /** Keeps the registry in step with stored CRDs, and drops a deleted CRD's objects (no cleanup finalizer here). */
  #afterCommit(event: StoreEvent): void {
    if (event.resource !== "customresourcedefinitions.apiextensions.k8s.io") return;
    const name = stringAt(event.object.metadata, "name") ?? "";
    if (event.type === "DELETED") {
      const defs = this.registry.crd(name);
      const first = defs[0];
      if (first !== undefined) {
        const key = storageKeyOf(first);
        for (const obj of this.store.list(key)) this.store.remove(key, stringAt(obj.metadata, "namespace"), stringAt(obj.metadata, "name") ?? "");
      }
      this.registry.removeCrd(name);
      return;
    }
    try {
      this.registry.setCrd(name, crdResourceDefinitions(event.object));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.registry.removeCrd(name);
    }
  }
}
