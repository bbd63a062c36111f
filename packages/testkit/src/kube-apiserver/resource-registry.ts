/**
 * The set of served resource types: the built-ins plus whatever CustomResourceDefinitions currently exist.
 * Discovery, routing and the OpenAPI documents read it; applying or deleting a CRD changes it.
 * @packageDocumentation
 */
import { storageKeyOf, type ResourceDefinition } from "./resource-definition.js";

/** One API group as discovery lists it. */
export interface ServedGroup {
  readonly name: string;
  /** Versions, most preferred first. */
  readonly versions: readonly string[];
}

/**
 * Orders Kubernetes versions like apimachinery's `version.CompareKubeAwareVersionStrings`: GA before beta
 * before alpha, higher numbers first, non-Kubernetes strings last in lexical order.
 */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (m === null) return [3, 0, 0, v];
    const stability = m[2] === undefined ? 0 : m[2] === "beta" ? 1 : 2;
    return [stability, -Number(m[1]), -Number(m[3] ?? 0), v];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < 3; i += 1) {
    const d = (ra[i] as number) - (rb[i] as number);
    if (d !== 0) return d;
  }
  return ra[3] < rb[3] ? -1 : ra[3] > rb[3] ? 1 : 0;
}

/** The registry of served resources. */
export class ResourceRegistry {
  readonly #byGroupVersion = new Map<string, Map<string, ResourceDefinition>>();
  readonly #groupOrder: string[] = [];
  readonly #crds = new Map<string, readonly ResourceDefinition[]>();
  readonly #listeners = new Set<() => void>();
  #generation = 0;

  constructor(builtins: readonly ResourceDefinition[]) {
    for (const def of builtins) this.#add(def);
  }

  /** Increments on every change (used to version the OpenAPI documents). */
  get generation(): number {
    return this.#generation;
  }

  /** The definition served at `group/version/plural`. */
  lookup(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.#byGroupVersion.get(`${group}/${version}`)?.get(plural);
  }

  /** The definition of `kind` at `apiVersion` (`v1`, `coordination.k8s.io/v1`, …). */
  findByKind(apiVersion: string, kind: string): ResourceDefinition | undefined {
    const slash = apiVersion.lastIndexOf("/");
    const group = slash < 0 ? "" : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    for (const def of this.#byGroupVersion.get(`${group}/${version}`)?.values() ?? []) if (def.kind === kind) return def;
    return undefined;
  }

  /**
   * Resolves a kubectl-style resource name to the preferred version's definition: `pods`, `po`, `pod`,
   * `leases.coordination.k8s.io`, `azureidentities.aadpodidentity.k8s.io`, or a kind (`Pod`).
   */
  resolve(resource: string): ResourceDefinition | undefined {
    const candidates = this.all();
    const preferredFirst = (defs: ResourceDefinition[]): ResourceDefinition | undefined =>
      defs.sort((a, b) => compareKubeVersions(a.version, b.version))[0];
    const exact = candidates.filter((d) => storageKeyOf(d) === resource);
    if (exact.length > 0) return preferredFirst(exact);
    const dot = resource.indexOf(".");
    const head = dot < 0 ? resource : resource.slice(0, dot);
    const group = dot < 0 ? undefined : resource.slice(dot + 1);
    const named = candidates.filter(
      (d) =>
        (group === undefined || d.group === group) &&
        (d.plural === head || d.singular === head || d.shortNames.includes(head) || d.kind === head),
    );
    return preferredFirst(named);
  }

  /** Every served definition (each served version of each resource). */
  all(): ResourceDefinition[] {
    return [...this.#byGroupVersion.values()].flatMap((m) => [...m.values()]);
  }

  /** Served definitions of one group/version, in registration order. */
  resources(group: string, version: string): ResourceDefinition[] {
    return [...(this.#byGroupVersion.get(`${group}/${version}`)?.values() ?? [])];
  }

  /** Served groups (the core group `""` first), each with its versions most preferred first. */
  groups(): ServedGroup[] {
    return this.#groupOrder.map((name) => {
      const versions = [...this.#byGroupVersion.keys()]
        .filter((gv) => gv.slice(0, gv.lastIndexOf("/")) === name)
        .map((gv) => gv.slice(gv.lastIndexOf("/") + 1))
        .sort(compareKubeVersions);
      return { name, versions };
    });
  }

  /** The definitions a CRD currently contributes (empty when not registered). */
  crd(name: string): readonly ResourceDefinition[] {
    return this.#crds.get(name) ?? [];
  }

  /** Registers (or re-registers after an update) the definitions of CRD `name`. */
  setCrd(name: string, defs: readonly ResourceDefinition[]): void {
    this.#removeCrdDefs(name);
    this.#crds.set(name, defs);
    for (const def of defs) this.#add(def);
    this.#changed();
  }

  /** Unregisters CRD `name`; returns the definitions it had. */
  removeCrd(name: string): readonly ResourceDefinition[] {
    const defs = this.#removeCrdDefs(name);
    this.#crds.delete(name);
    this.#changed();
    return defs;
  }

  /** Calls `listener` after every change; returns a function that removes it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #add(def: ResourceDefinition): void {
    const gv = `${def.group}/${def.version}`;
    let map = this.#byGroupVersion.get(gv);
    if (map === undefined) {
      map = new Map();
      this.#byGroupVersion.set(gv, map);
    }
    map.set(def.plural, def);
    if (!this.#groupOrder.includes(def.group)) this.#groupOrder.push(def.group);
  }

  #removeCrdDefs(name: string): readonly ResourceDefinition[] {
    const defs = this.#crds.get(name) ?? [];
    for (const def of defs) {
      const gv = `${def.group}/${def.version}`;
      const map = this.#byGroupVersion.get(gv);
      if (map?.get(def.plural)?.crdName !== name) continue;
      map.delete(def.plural);
      if (map.size === 0) this.#byGroupVersion.delete(gv);
    }
    for (let i = this.#groupOrder.length - 1; i >= 0; i -= 1) {
      const group = this.#groupOrder[i] ?? "";
      if (![...this.#byGroupVersion.keys()].some((gv) => gv.slice(0, gv.lastIndexOf("/")) === group)) this.#groupOrder.splice(i, 1);
    }
    return defs;
  }

  #changed(): void {
    this.#generation += 1;
    for (const listener of [...this.#listeners]) listener();
  }
}

