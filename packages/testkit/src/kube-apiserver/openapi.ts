/**
 * OpenAPI documents — just enough for kubectl's `apply`/`create` to work without `--validate=false`.
 *
 * What kubectl needs (checked against kubectl 1.20's and 1.27–1.33's sources and behaviour):
 * - Client-side validation (the default `--validate=true`, called `strict` since 1.25) downloads
 *   `/openapi/v2` as **protobuf** (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) and
 *   decodes it with gnostic. kubectl 1.20 falls back to `/swagger-2.0.0.pb-v1` on a 404 and then aborts
 *   the command ("error validating data … turn validation off with --validate=false") when both fail, so a
 *   404 is NOT an option. A syntactically valid document with no definitions is enough: the validator looks
 *   each object's GVK up in the document and skips validation for kinds it does not find.
 * - kubectl ≥1.25 first asks whether the server validates fields itself (`fieldValidation` query parameter
 *   on the PATCH operation in `/openapi/v3/<group-version>`, else in `/openapi/v2`). This fake does not
 *   validate fields server-side, so its v3 documents list each resource's operations WITHOUT that
 *   parameter; kubectl then validates client-side against the empty v2 document, i.e. not at all.
 * - `kubectl apply` looks up the patch strategy of a kind in the OpenAPI documents and falls back to its
 *   compiled-in types when the kind is missing, so the empty documents also keep apply working.
 * A JSON `/openapi/v2` is served to clients that ask for JSON.
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import type { JsonObject } from "./json.js";
import { apiVersionOf, type ResourceDefinition } from "./resource-definition.js";
import type { ResourceRegistry } from "./resource-registry.js";

const TITLE = "Kubernetes";

/** `/openapi/v2` as JSON: a valid Swagger 2.0 document without paths or definitions. */
export function openApiV2Json(version: string): JsonObject {
  return { swagger: "2.0", info: { title: TITLE, version }, paths: {}, definitions: {} };
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

/**
 * `/openapi/v2` as protobuf: a gnostic `openapi.v2.Document` with `swagger` (field 1), `info` (field 2:
 * `title` 1, `version` 2), and empty `paths` (8) and `definitions` (9).
 */
export function openApiV2Protobuf(version: string): Uint8Array {
  const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
  const info = Uint8Array.from([...lengthDelimited(1, utf8(TITLE)), ...lengthDelimited(2, utf8(version))]);
  return Uint8Array.from([
    ...lengthDelimited(1, utf8("2.0")),
    ...lengthDelimited(2, info),
    ...lengthDelimited(8, new Uint8Array()),
    ...lengthDelimited(9, new Uint8Array()),
  ]);
}

/** The `/openapi/v3` path of a group/version (`api/v1`, `apis/coordination.k8s.io/v1`). */
export function openApiV3Path(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

function operation(def: ResourceDefinition, action: string, id: string): JsonObject {
  return {
    operationId: id,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": { group: def.group, version: def.version, kind: def.kind },
    parameters: [
      { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
    ],
    responses: { "200": { description: "OK" } },
  };
}

/** The OpenAPI v3 document of one group/version: every resource's item path with get/put/patch/delete. */
export function openApiV3GroupVersion(registry: ResourceRegistry, group: string, version: string, serverVersion: string): JsonObject | undefined {
  const defs = registry.resources(group, version);
  if (defs.length === 0) return undefined;
  const prefix = `/${openApiV3Path(group, version)}`;
  const paths: JsonObject = {};
  for (const def of defs) {
    const scope = def.namespaced ? "/namespaces/{namespace}" : "";
    const id = `${def.kind}${apiVersionOf(def).replace(/[^A-Za-z0-9]/g, "")}`;
    paths[`${prefix}${scope}/${def.plural}/{name}`] = {
      get: operation(def, "get", `read${id}`),
      put: operation(def, "put", `replace${id}`),
      patch: operation(def, "patch", `patch${id}`),
      delete: operation(def, "delete", `delete${id}`),
    };
    paths[`${prefix}${scope}/${def.plural}`] = {
      get: operation(def, "list", `list${id}`),
      post: operation(def, "post", `create${id}`),
    };
  }
  return { openapi: "3.0.0", info: { title: TITLE, version: serverVersion }, paths, components: { schemas: {} } };
}

/** `/openapi/v3`: the index of group/version documents, each URL carrying a content hash for caching. */
export function openApiV3Index(registry: ResourceRegistry, serverVersion: string): JsonObject {
  const paths: JsonObject = {};
  for (const group of registry.groups()) {
    for (const version of group.versions) {
      const doc = openApiV3GroupVersion(registry, group.name, version, serverVersion);
      if (doc === undefined) continue;
      const hash = createHash("sha256").update(JSON.stringify(doc)).digest("hex").slice(0, 32).toUpperCase();
      const path = openApiV3Path(group.name, version);
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
    }
  }
  return { paths };
}
