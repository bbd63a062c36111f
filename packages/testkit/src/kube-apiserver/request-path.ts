/**
 * Routing of kube-apiserver URL paths: discovery and OpenAPI endpoints, and resource paths
 * `/api/v1/[watch/][namespaces/<ns>/]<plural>[/<name>[/<subresource>]]` and the same under
 * `/apis/<group>/<version>`. `/api/v1/namespaces/<name>/status` is the namespace's status subresource, not a
 * resource called `status` (the same disambiguation the real router makes). `…/serviceaccounts/<name>/token` is the
 * TokenRequest subresource. (The issuer's discovery paths are matched in `request-handler.ts`, before
 * authentication.)
 * @packageDocumentation
 */
import type { ResourceDefinition } from "./resource-definition.js";
import type { ResourceRegistry } from "./resource-registry.js";
import { pathNotFound } from "./status.js";

/** A resolved resource request path. */
export interface ResourcePath {
  readonly type: "resource";
  readonly def: ResourceDefinition;
  /** Namespace from the path (namespaced resources; absent for all-namespaces requests). */
  readonly namespace?: string;
  readonly name?: string;
  /** `status` (kinds with a status subresource) or `token` (serviceaccounts: TokenRequest). */
  readonly subresource?: "status" | "token";
  /** The legacy `/watch/` prefix was used. */
  readonly watchPrefix: boolean;
}

/** Every kind of path the fake serves. */
export type Route =
  | { readonly type: "version" }
  | { readonly type: "health" }
  | { readonly type: "coreVersions" }
  | { readonly type: "groups" }
  | { readonly type: "group"; readonly group: string }
  | { readonly type: "groupVersion"; readonly group: string; readonly version: string }
  | { readonly type: "openapiV2" }
  | { readonly type: "openapiV3" }
  | { readonly type: "openapiV3GroupVersion"; readonly group: string; readonly version: string }
  | ResourcePath;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Resolves `pathname` against the registry; throws a 404 `ApiError` for anything unknown. */
export function routeOf(pathname: string, registry: ResourceRegistry): Route {
  const segments = pathname.split("/").filter((s) => s !== "").map(decode);
  const [first, second, third] = segments;
  if (first === "version" && segments.length === 1) return { type: "version" };
  if ((first === "healthz" || first === "livez" || first === "readyz") && segments.length >= 1) return { type: "health" };
  if (first === "openapi") {
    if (second === "v2" && segments.length === 2) return { type: "openapiV2" };
    if (second === "v3" && segments.length === 2) return { type: "openapiV3" };
    if (second === "v3" && third === "api" && segments.length === 4) return { type: "openapiV3GroupVersion", group: "", version: segments[3] ?? "" };
    if (second === "v3" && third === "apis" && segments.length === 5) return { type: "openapiV3GroupVersion", group: segments[3] ?? "", version: segments[4] ?? "" };
    throw pathNotFound();
  }
  if (first === "api") {
    if (segments.length === 1) return { type: "coreVersions" };
    const version = second ?? "";
    if (segments.length === 2) return { type: "groupVersion", group: "", version };
    return resourceRoute("", version, segments.slice(2), registry);
  }
  if (first === "apis") {
    if (segments.length === 1) return { type: "groups" };
    const group = second ?? "";
    if (segments.length === 2) return { type: "group", group };
    const version = third ?? "";
    if (segments.length === 3) return { type: "groupVersion", group, version };
    return resourceRoute(group, version, segments.slice(3), registry);
  }
  throw pathNotFound();
}

/** Whether `def` serves the subresource `name`: `status` when it has one, `token` for core serviceaccounts. */
function subresourceOf(def: ResourceDefinition, name: string): "status" | "token" | undefined {
  if (name === "status" && def.statusSubresource) return "status";
  if (name === "token" && def.group === "" && def.plural === "serviceaccounts") return "token";
  return undefined;
}

function resourceRoute(group: string, version: string, rest: string[], registry: ResourceRegistry): ResourcePath {
  let segs = rest;
  let watchPrefix = false;
  if (segs[0] === "watch") {
    watchPrefix = true;
    segs = segs.slice(1);
  }
  let namespace: string | undefined;
  if (segs[0] === "namespaces" && segs.length >= 3) {
    const candidate = registry.lookup(group, version, segs[2] ?? "");
    if (candidate?.namespaced === true) {
      namespace = segs[1];
      segs = segs.slice(2);
    }
  }
  const [plural = "", name, subresource, ...extra] = segs;
  const def = registry.lookup(group, version, plural);
  if (def === undefined || extra.length > 0) throw pathNotFound();
  if (!def.namespaced && namespace !== undefined) throw pathNotFound();
  const known = subresource === undefined ? undefined : subresourceOf(def, subresource);
  if (subresource !== undefined && known === undefined) throw pathNotFound();
  if (watchPrefix && subresource !== undefined) throw pathNotFound();
  return {
    type: "resource",
    def,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(known !== undefined ? { subresource: known } : {}),
    watchPrefix,
  };
}
