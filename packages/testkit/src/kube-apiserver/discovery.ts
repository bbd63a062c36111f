/**
 * Discovery documents (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`) in
 * the legacy (unaggregated) form. Newer clients first ask for aggregated discovery
 * (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`) and fall back to these documents
 * when the response's Content-Type is plain `application/json`, which is what this fake always answers.
 * @packageDocumentation
 */
import type { JsonObject } from "./json.js";
import { apiVersionOf, type ResourceDefinition } from "./resource-definition.js";
import type { ResourceRegistry } from "./resource-registry.js";

/** The version the fake reports at `/version` (kubectl prints it; client-go only needs it to parse). */
export const FAKE_SERVER_VERSION = {
  major: "1",
  minor: "29",
  gitVersion: "v1.29.0",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2024-01-01T00:00:00Z",
  goVersion: "go1.21.5",
  compiler: "gc",
  platform: "linux/amd64",
} as const;

/** `/version`. */
export function versionInfo(): JsonObject {
  return { ...FAKE_SERVER_VERSION };
}

/** `/api` (`APIVersions`). */
export function coreApiVersions(serverAddress: string): JsonObject {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupDocument(name: string, versions: readonly string[]): JsonObject {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return {
    kind: "APIGroup",
    apiVersion: "v1",
    name,
    versions: entries,
    ...(entries[0] !== undefined ? { preferredVersion: entries[0] } : {}),
  };
}

/** `/apis` (`APIGroupList`, every group except the core group). */
export function apiGroupList(registry: ResourceRegistry): JsonObject {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: registry
      .groups()
      .filter((g) => g.name !== "")
      .map((g) => groupDocument(g.name, g.versions)),
  };
}

/** `/apis/<group>` (`APIGroup`), or `undefined` when the group is not served. */
export function apiGroup(registry: ResourceRegistry, name: string): JsonObject | undefined {
  const group = registry.groups().find((g) => g.name === name && name !== "");
  return group === undefined ? undefined : groupDocument(group.name, group.versions);
}

function resourceEntries(def: ResourceDefinition): JsonObject[] {
  const main: JsonObject = {
    name: def.plural,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: [...def.verbs],
  };
  if (def.shortNames.length > 0) main["shortNames"] = [...def.shortNames];
  if (def.categories.length > 0) main["categories"] = [...def.categories];
  const entries = [main];
  if (def.statusSubresource) {
    entries.push({ name: `${def.plural}/status`, singularName: "", namespaced: def.namespaced, kind: def.kind, verbs: ["get", "patch", "update"] });
  }
  if (def.group === "" && def.plural === "serviceaccounts") {
    // The TokenRequest subresource, listed the way kube-apiserver lists it (another group's kind).
    entries.push({ name: "serviceaccounts/token", singularName: "", namespaced: true, group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: ["create"] });
  }
  return entries;
}

/** `/api/v1` or `/apis/<group>/<version>` (`APIResourceList`), or `undefined` when not served. */
export function apiResourceList(registry: ResourceRegistry, group: string, version: string): JsonObject | undefined {
  const defs = registry.resources(group, version);
  if (defs.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf({ group, version }),
    resources: defs.flatMap(resourceEntries),
  };
}
