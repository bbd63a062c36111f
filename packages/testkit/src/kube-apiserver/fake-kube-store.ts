/**
 * Direct access to the fake's objects for tests: seed state without HTTP, read what a controller wrote,
 * and remove objects regardless of finalizers. Writes go through the same store as the HTTP API, so they
 * get a new resourceVersion and reach open watches (an informer sees them like any other change).
 * @packageDocumentation
 */
import { randomUUID } from "node:crypto";
import { cloneJson, isJsonObject, stringAt, type KubeObject } from "./json.js";
import type { ObjectStore } from "./object-store.js";
import { presentObject } from "./resource-api.js";
import { storageKeyOf, type ResourceDefinition } from "./resource-definition.js";
import type { ResourceRegistry } from "./resource-registry.js";
import { rfc3339 } from "./time.js";
import { crdResourceDefinitions, crdStatus } from "./crd-resources.js";
import { hasGeneration, isCrdResource, normalizeMetadata } from "./object-rules.js";

/** Test-side access to the objects of a {@link FakeKubeApiServer}. */
export class FakeKubeStore {
  readonly #store: ObjectStore;
  readonly #registry: ResourceRegistry;
  readonly #now: () => Date;

  constructor(store: ObjectStore, registry: ResourceRegistry, now: () => Date) {
    this.#store = store;
    this.#registry = registry;
    this.#now = now;
  }

  /** The latest resourceVersion (global, like etcd's revision). */
  get revision(): number {
    return this.#store.revision;
  }

  /**
   * One object, or `undefined`. `resource` is kubectl-style: `pods`, `po`, `Pod`,
   * `leases.coordination.k8s.io`, `azureidentities.aadpodidentity.k8s.io`. `namespace` defaults to `default`
   * for namespaced resources and is ignored for cluster-scoped ones.
   */
  get(resource: string, name: string, namespace?: string): KubeObject | undefined {
    const def = this.#resolve(resource);
    const found = this.#store.get(storageKeyOf(def), def.namespaced ? (namespace ?? "default") : undefined, name);
    return found === undefined ? undefined : presentObject(def, found);
  }

  /** The objects of `resource` (in `namespace` when given), ordered by namespace and name. */
  list(resource: string, namespace?: string): KubeObject[] {
    const def = this.#resolve(resource);
    return this.#store.list(storageKeyOf(def), def.namespaced ? namespace : undefined).map((obj) => presentObject(def, obj));
  }

  /**
   * Creates or replaces `object` as given — no optimistic concurrency, no strategy (status is kept, e.g. a
   * pod's `status.podIP`), no name validation. Its kind is found from `apiVersion`/`kind`; `uid` and
   * `creationTimestamp` are filled in when absent (kept from the existing object on replace), a namespaced
   * object without namespace goes to `default`. A CustomResourceDefinition is validated and registered.
   * Returns the stored object with its new resourceVersion.
   */
  upsert(object: KubeObject): KubeObject {
    if (!isJsonObject(object) || !isJsonObject(object.metadata)) throw new TypeError("upsert needs an object with metadata");
    const apiVersion = stringAt(object, "apiVersion") ?? "";
    const kind = stringAt(object, "kind") ?? "";
    const def = this.#registry.findByKind(apiVersion, kind);
    if (def === undefined) throw new Error(`no resource serves ${apiVersion} ${kind} (apply its CustomResourceDefinition first)`);
    const obj = cloneJson(object);
    const name = stringAt(obj.metadata, "name") ?? "";
    if (name === "") throw new Error("upsert needs metadata.name");
    if (def.namespaced) {
      if ((stringAt(obj.metadata, "namespace") ?? "") === "") obj.metadata["namespace"] = "default";
    } else {
      delete obj.metadata["namespace"];
    }
    const existing = this.#store.get(storageKeyOf(def), stringAt(obj.metadata, "namespace"), name);
    const now = rfc3339(this.#now());
    obj.metadata["uid"] = stringAt(obj.metadata, "uid") ?? stringAt(existing?.metadata, "uid") ?? randomUUID();
    obj.metadata["creationTimestamp"] = stringAt(obj.metadata, "creationTimestamp") ?? stringAt(existing?.metadata, "creationTimestamp") ?? now;
    if (obj.metadata["generation"] === undefined && hasGeneration(def)) obj.metadata["generation"] = existing?.metadata["generation"] ?? 1;
    normalizeMetadata(obj);
    if (isCrdResource(def)) {
      crdResourceDefinitions(obj);
      obj["status"] = crdStatus(obj, existing, now);
    }
    return presentObject(def, this.#store.put(storageKeyOf(def), obj).object);
  }

  /** Removes an object at once, ignoring finalizers; `false` when it was not there (`namespace` as in {@link get}). */
  remove(resource: string, name: string, namespace?: string): boolean {
    const def = this.#resolve(resource);
    return this.#store.remove(storageKeyOf(def), def.namespaced ? (namespace ?? "default") : undefined, name) !== undefined;
  }

  #resolve(resource: string): ResourceDefinition {
    const def = this.#registry.resolve(resource);
    if (def === undefined) throw new Error(`unknown resource "${resource}"`);
    return def;
  }
}
