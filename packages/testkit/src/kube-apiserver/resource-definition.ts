/**
 * What the fake knows about one served resource type (one group/version/plural), built-in or defined by a
 * CustomResourceDefinition. Discovery documents, routing, storage and printing are all derived from it.
 * @packageDocumentation
 */

/** An `additionalPrinterColumns` entry (for custom resources) or a built-in printer column. */
export interface PrinterColumn {
  readonly name: string;
  /** OpenAPI type of the cell: `string`, `integer`, `number`, `boolean` or `date` (rendered as an age). */
  readonly type: string;
  /** Simple JSONPath such as `.spec.clientID` (dots and `[n]` indexes). */
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
  readonly format?: string;
}

/** One resource type as served at `/api/v1` or `/apis/<group>/<version>`. */
export interface ResourceDefinition {
  /** API group; `""` for the core group. */
  readonly group: string;
  /** The version this definition is served as (objects are stored once per group/plural, whatever the version). */
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  /** Whether a `status` subresource exists (then the main resource ignores status changes and vice versa). */
  readonly statusSubresource: boolean;
  /** Built-in kinds accept strategic-merge patches; custom resources do not (like the real server). */
  readonly strategicMerge: boolean;
  /** Extra printer columns (custom resources); built-ins print per-kind columns. */
  readonly printerColumns?: readonly PrinterColumn[];
  /** The CRD (`<plural>.<group>`) that defined this resource, when it is a custom resource. */
  readonly crdName?: string;
}

/** `group/version`, or just `version` for the core group (the `apiVersion` of objects). */
export function apiVersionOf(def: Pick<ResourceDefinition, "group" | "version">): string {
  return def.group === "" ? def.version : `${def.group}/${def.version}`;
}

/**
 * The key under which objects of this resource are stored: `plural` for the core group, `plural.group`
 * otherwise (the same spelling kubectl accepts, e.g. `leases.coordination.k8s.io`).
 */
export function storageKeyOf(def: Pick<ResourceDefinition, "group" | "plural">): string {
  return def.group === "" ? def.plural : `${def.plural}.${def.group}`;
}

/** The verbs every built-in and custom resource supports here. */
export const STANDARD_VERBS: readonly string[] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
