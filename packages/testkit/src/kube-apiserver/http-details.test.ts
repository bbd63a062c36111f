/**
 * Protocol details over raw HTTP: discovery documents, OpenAPI (including the protobuf v2 document kubectl
 * validates with), content negotiation (Table, PartialObjectMetadata, 406), routing errors (404, 405, 415),
 * dry runs, deletecollection, single-object and `/watch/` watches, watch-list initial events, CRD validation
 * and removal, and watches ending when the client goes away.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "./fake-kube-apiserver.js";

let server: FakeKubeApiServer;

beforeAll(async () => {
  server = await FakeKubeApiServer.start({ bookmarkIntervalMs: 30 });
});

afterAll(async () => {
  await server.close();
});

async function get(path: string, accept?: string): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, accept === undefined ? {} : { headers: { Accept: accept } });
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: (await res.json()) as Record<string, unknown> };
}

async function send(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, { method, headers: { "Content-Type": contentType }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Collects watch events until `count` arrived (or the stream ended). */
async function watchEvents(path: string, count: number): Promise<{ type: string; object: Record<string, unknown> }[]> {
  const controller = new AbortController();
  const res = await fetch(`${server.url}${path}`, { signal: controller.signal });
  const reader = res.body!.getReader();
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let buffer = "";
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += new TextDecoder().decode(value);
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line !== "") events.push(JSON.parse(line) as { type: string; object: Record<string, unknown> });
    }
  } finally {
    controller.abort();
  }
  return events;
}

describe("discovery and OpenAPI", () => {
  it("serves /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>", async () => {
    expect((await get("/version")).body).toMatchObject({ major: "1", gitVersion: expect.stringMatching(/^v1\.\d+\.\d+/) as unknown });
    expect((await get("/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const core = (await get("/api/v1")).body as { resources: { name: string; namespaced: boolean; kind: string; verbs: string[]; shortNames?: string[]; singularName: string }[] };
    const pods = core.resources.find((r) => r.name === "pods");
    expect(pods).toMatchObject({ namespaced: true, kind: "Pod", singularName: "pod", shortNames: ["po"] });
    expect(pods?.verbs).toEqual(expect.arrayContaining(["create", "delete", "get", "list", "patch", "update", "watch", "deletecollection"]));
    expect(core.resources.find((r) => r.name === "pods/status")?.verbs).toEqual(["get", "patch", "update"]);
    expect(core.resources.find((r) => r.name === "nodes")).toMatchObject({ namespaced: false, shortNames: ["no"] });
    const groups = (await get("/apis")).body as { groups: { name: string; preferredVersion: { groupVersion: string } }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(["coordination.k8s.io", "apiextensions.k8s.io"]));
    expect((await get("/apis/coordination.k8s.io")).body).toMatchObject({ kind: "APIGroup", preferredVersion: { groupVersion: "coordination.k8s.io/v1" } });
    expect((await get("/apis/apiextensions.k8s.io/v1")).body).toMatchObject({ kind: "APIResourceList", groupVersion: "apiextensions.k8s.io/v1" });
    expect((await get("/apis/nope.example.com")).status).toBe(404);
  });

  it("serves /openapi/v2 as protobuf and JSON and /openapi/v3 with per-group documents", async () => {
    const pb = await fetch(`${server.url}/openapi/v2`, { headers: { Accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" } });
    const bytes = new Uint8Array(await pb.arrayBuffer());
    // Field 1 (swagger) = "2.0", then field 2 (info) …
    expect([...bytes.slice(0, 5)]).toEqual([0x0a, 0x03, 0x32, 0x2e, 0x30]);
    expect(bytes[5]).toBe(0x12);
    expect((await get("/openapi/v2", "application/json")).body).toMatchObject({ swagger: "2.0", paths: {}, definitions: {} });
    const index = (await get("/openapi/v3")).body as { paths: Record<string, { serverRelativeURL: string }> };
    const url = index.paths["api/v1"]?.serverRelativeURL ?? "";
    expect(url).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]+$/);
    const doc = (await get(url)).body as { openapi: string; paths: Record<string, { patch?: Record<string, unknown> }> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths["/api/v1/namespaces/{namespace}/pods/{name}"]?.patch?.["x-kubernetes-group-version-kind"]).toEqual({ group: "", version: "v1", kind: "Pod" });
  });
});

describe("content negotiation and errors", () => {
  it("renders Tables and PartialObjectMetadata on request, 406 for protobuf only", async () => {
    await send("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "cm", labels: { a: "b" } }, data: { x: "1", y: "2" } });
    const table = await get("/api/v1/namespaces/default/configmaps?includeObject=Object", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
    expect(table.type).toBe("application/json;as=Table;v=v1;g=meta.k8s.io");
    expect(table.body).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    const rows = table.body["rows"] as { cells: unknown[]; object: { kind: string } }[];
    expect((table.body["columnDefinitions"] as { name: string }[]).map((c) => c.name)).toEqual(["Name", "Data", "Age"]);
    expect(rows[0]?.cells.slice(0, 2)).toEqual(["cm", 2]);
    expect(rows[0]?.object.kind).toBe("ConfigMap");
    const meta = await get("/api/v1/namespaces/default/configmaps/cm", "application/json;as=Table;v=v1beta1;g=meta.k8s.io");
    expect((meta.body["rows"] as { object: { kind: string } }[])[0]?.object.kind).toBe("PartialObjectMetadata");
    const partial = await get("/api/v1/namespaces/default/configmaps", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io");
    expect(partial.body).toMatchObject({ kind: "PartialObjectMetadataList", items: [{ kind: "PartialObjectMetadata", metadata: { name: "cm" } }] });
    expect((await get("/api/v1/namespaces", "application/vnd.kubernetes.protobuf")).status).toBe(406);
  });

  it("answers 404, 405 and 415 with Status bodies", async () => {
    expect((await get("/api/v1/widgets")).body).toMatchObject({ kind: "Status", code: 404, reason: "NotFound" });
    expect((await get("/nothing/here")).status).toBe(404);
    expect((await get("/api/v1/namespaces/default/nodes")).status).toBe(404);
    expect((await send("POST", "/api/v1/namespaces/default/configmaps/cm", {})).body).toMatchObject({ code: 405, reason: "MethodNotAllowed" });
    expect((await send("POST", "/api/v1/configmaps", { metadata: { name: "x" } })).status).toBe(405);
    expect((await send("PATCH", "/api/v1/namespaces/default/configmaps/cm", {}, "text/plain")).body).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
    expect((await send("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "Bad_Name" } })).body).toMatchObject({ code: 422, reason: "Invalid" });
    expect((await send("POST", "/api/v1/namespaces/default/configmaps", { kind: "Secret", metadata: { name: "k" } })).status).toBe(400);
    expect((await send("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "n", namespace: "other" } })).status).toBe(400);
    expect((await get("/api/v1/configmaps?resourceVersion=999999999")).body).toMatchObject({ code: 504, reason: "Timeout" });
  });

  it("stores nothing for dryRun=All and deletes collections by selector", async () => {
    const dry = await send("POST", "/api/v1/namespaces/default/secrets?dryRun=All", { metadata: { name: "dry" }, stringData: { a: "b" } });
    expect(dry.status).toBe(201);
    expect(dry.body["data"]).toEqual({ a: "Yg==" });
    expect(server.store.get("secrets", "dry", "default")).toBeUndefined();
    for (const name of ["d1", "d2", "keep"]) await send("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name, labels: { drop: name === "keep" ? "no" : "yes" } } });
    const deleted = await send("DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=drop%3Dyes");
    expect((deleted.body["items"] as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual(["d1", "d2"]);
    expect(server.store.list("configmaps", "default").map((c) => c.metadata["name"])).toEqual(["cm", "keep"]);
    const dryDelete = await send("DELETE", "/api/v1/namespaces/default/configmaps/keep?dryRun=All");
    expect(dryDelete.status).toBe(200);
    expect(server.store.get("configmaps", "keep", "default")).toBeDefined();
  });
});

describe("watch variants", () => {
  it("watches one object by name and via the /watch/ prefix, and ends when the client leaves", async () => {
    const rv = String(server.revision);
    const pending = watchEvents(`/api/v1/watch/namespaces/default/configmaps/keep?resourceVersion=${rv}`, 1);
    await new Promise((r) => setTimeout(r, 50));
    await send("PATCH", "/api/v1/namespaces/default/configmaps/cm", { data: { z: "1" } }, "application/merge-patch+json");
    await send("PATCH", "/api/v1/namespaces/default/configmaps/keep", { data: { z: "1" } }, "application/merge-patch+json");
    const [event] = await pending;
    expect(event?.type).toBe("MODIFIED");
    expect((event?.object["metadata"] as { name: string }).name).toBe("keep");
    const deadline = Date.now() + 2000;
    while (server.openWatches > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.openWatches).toBe(0);
  });

  it("sends initial ADDED events then an initial-events-end bookmark for sendInitialEvents", async () => {
    const events = await watchEvents("/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan", 3);
    expect(events.map((e) => e.type)).toEqual(["ADDED", "ADDED", "BOOKMARK"]);
    expect(events[2]?.object["metadata"]).toEqual({ resourceVersion: String(server.revision), annotations: { "k8s.io/initial-events-end": "true" } });
  });

  it("renders watch events as Tables for kubectl get -w", async () => {
    const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1`, { headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" } });
    expect(res.headers.get("content-type")).toBe("application/json;as=Table;v=v1;g=meta.k8s.io");
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as { type: string; object: { kind: string } });
    expect(lines.map((l) => [l.type, l.object.kind])).toEqual([
      ["ADDED", "Table"],
      ["ADDED", "Table"],
    ]);
  });
});

describe("CustomResourceDefinitions", () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Cluster",
      names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wd"] },
      versions: [
        { name: "v1beta1", served: true, storage: false },
        { name: "v1", served: true, storage: true, subresources: { status: {} } },
      ],
    },
  };

  it("rejects invalid CRDs with 422 and registers valid ones with their versions, scope and status subresource", async () => {
    const bad = await send("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", { ...crd, metadata: { name: "wrong.example.com" } });
    expect(bad.body).toMatchObject({ code: 422, reason: "Invalid" });
    const created = await send("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    expect(created.status).toBe(201);
    expect((created.body["status"] as { conditions: { type: string; status: string }[] }).conditions.map((c) => `${c.type}=${c.status}`)).toEqual(["NamesAccepted=True", "Established=True"]);
    expect((await get("/apis/example.com")).body).toMatchObject({ preferredVersion: { version: "v1" }, versions: [{ version: "v1" }, { version: "v1beta1" }] });
    const w = await send("POST", "/apis/example.com/v1/widgets", { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w1" }, spec: { size: 1 }, status: { ignored: true } });
    expect(w.body["status"]).toBeUndefined();
    expect((w.body["metadata"] as { generation: number }).generation).toBe(1);
    const status = await send("PUT", "/apis/example.com/v1/widgets/w1/status", { ...w.body, spec: { size: 99 }, status: { ready: true } });
    expect(status.body).toMatchObject({ spec: { size: 1 }, status: { ready: true } });
    const bumped = await send("PATCH", "/apis/example.com/v1/widgets/w1", { spec: { size: 2 } }, "application/merge-patch+json");
    expect((bumped.body["metadata"] as { generation: number }).generation).toBe(2);
    // Both versions serve the same stored object.
    expect((await get("/apis/example.com/v1beta1/widgets/w1")).body).toMatchObject({ apiVersion: "example.com/v1beta1", spec: { size: 2 } });
  });

  it("deleting a CRD removes its objects, ends its watches and unregisters it", async () => {
    const events: Promise<{ type: string }[]> = watchEvents("/apis/example.com/v1/widgets?watch=true&resourceVersion=" + String(server.revision), 5);
    await new Promise((r) => setTimeout(r, 50));
    const deleted = await send("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com");
    expect(deleted.status).toBe(200);
    expect((await events).map((e) => e.type)).toEqual(["DELETED"]);
    expect((await get("/apis/example.com/v1/widgets")).status).toBe(404);
    expect((await get("/apis/example.com")).status).toBe(404);
  });
});
