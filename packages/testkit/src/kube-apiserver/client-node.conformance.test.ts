/**
 * Conformance of the fake with the real @kubernetes/client-node 2.x: typed and custom-object APIs, errors,
 * patches of every content type, raw watches (resume, bookmarks, 410, timeouts) and the informer, including
 * its relist after a 410 and its behaviour when watches are dropped.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FakeKubeApiServer } from "./fake-kube-apiserver.js";
import { apiError } from "./test-support/api-error.js";

const CRDS = readFileSync(fileURLToPath(new URL("../../../../deploy/crds.yaml", import.meta.url)), "utf8");
const GROUP = "aadpodidentity.k8s.io";

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function pod(name: string, labels: Record<string, string> = {}, nodeName?: string): V1Pod {
  return {
    metadata: { name, labels },
    spec: { containers: [{ name: "main", image: "busybox" }], ...(nodeName !== undefined ? { nodeName } : {}) },
  };
}

let server: FakeKubeApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let ns = "";
let nsCounter = 0;

beforeAll(async () => {
  server = await FakeKubeApiServer.start({ token: "s3cret", bookmarkIntervalMs: 50 });
  server.applyManifests(CRDS);
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterAll(async () => {
  await server.close();
});

// Each test works in its own namespace so that lists and watches do not see other tests' objects.
async function freshNamespace(): Promise<string> {
  nsCounter += 1;
  ns = `t${nsCounter}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  return ns;
}

afterEach(() => {
  server.delay(undefined);
});

describe("typed API calls", () => {
  it("creates, reads, lists with label and field selectors, and generates names", async () => {
    await freshNamespace();
    await core.createNamespacedPod({ namespace: ns, body: pod("a", { app: "x", tier: "web" }, "node-1") });
    await core.createNamespacedPod({ namespace: ns, body: pod("b", { app: "x" }, "node-2") });
    await core.createNamespacedPod({ namespace: ns, body: pod("c", { app: "y" }) });
    const generated = await core.createNamespacedPod({ namespace: ns, body: { metadata: { generateName: "gen-" }, spec: pod("x").spec! } });
    expect(generated.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(generated.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.status?.phase).toBe("Pending");

    const read = await core.readNamespacedPod({ name: "a", namespace: ns });
    expect(read.metadata?.labels).toEqual({ app: "x", tier: "web" });
    const names = async (q: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> =>
      (await core.listNamespacedPod({ namespace: ns, ...q })).items.map((p) => p.metadata?.name ?? "");
    expect(await names({ labelSelector: "app=x" })).toEqual(["a", "b"]);
    expect(await names({ labelSelector: "app in (x,y),!tier" })).toEqual(["b", "c"]);
    expect(await names({ labelSelector: "tier" })).toEqual(["a"]);
    expect(await names({ labelSelector: "app notin (x)" })).toEqual(["c", generated.metadata?.name ?? ""].sort());
    expect(await names({ fieldSelector: "spec.nodeName=node-2" })).toEqual(["b"]);
    expect(await names({ fieldSelector: "spec.nodeName=" })).toEqual(["c", generated.metadata?.name ?? ""].sort());
    expect(await names({ fieldSelector: "metadata.name!=a,status.phase=Pending", labelSelector: "app=x" })).toEqual(["b"]);
    const all = await core.listPodForAllNamespaces({ fieldSelector: `metadata.namespace=${ns}` });
    expect(all.items).toHaveLength(4);
    expect(Number(all.metadata?.resourceVersion)).toBe(server.revision);
  });

  it("answers Kubernetes Status errors: 404, 409 AlreadyExists, 409 Conflict, 400 bad selector, 401", async () => {
    await freshNamespace();
    const missing = await apiError(core.readNamespacedPod({ name: "nope", namespace: ns }));
    expect(missing.code).toBe(404);
    expect(missing.body).toMatchObject({ kind: "Status", status: "Failure", reason: "NotFound", code: 404, message: 'pods "nope" not found' });

    const created = await core.createNamespacedPod({ namespace: ns, body: pod("a") });
    const dup = await apiError(core.createNamespacedPod({ namespace: ns, body: pod("a") }));
    expect(dup.body).toMatchObject({ reason: "AlreadyExists", code: 409 });

    const stale = { ...created, metadata: { ...created.metadata, labels: { v: "1" } } };
    await core.replaceNamespacedPod({ name: "a", namespace: ns, body: stale });
    const conflict = await apiError(core.replaceNamespacedPod({ name: "a", namespace: ns, body: { ...stale, metadata: { ...stale.metadata, labels: { v: "2" } } } }));
    expect(conflict.code).toBe(409);
    expect(conflict.body).toMatchObject({ reason: "Conflict", details: { name: "a", kind: "pods" } });
    // Without resourceVersion an update is unconditional.
    const { resourceVersion: _rv, ...metaWithoutRv } = stale.metadata ?? {};
    const forced = await core.replaceNamespacedPod({ name: "a", namespace: ns, body: { ...stale, metadata: { ...metaWithoutRv, labels: { v: "3" } } } });
    expect(forced.metadata?.labels).toEqual({ v: "3" });

    const badSelector = await apiError(core.listNamespacedPod({ namespace: ns, labelSelector: "a in (b" }));
    expect(badSelector.body).toMatchObject({ reason: "BadRequest", code: 400 });

    const anonymous = new KubeConfig();
    anonymous.loadFromString(server.kubeconfig().replace(/token: s3cret/, "token: wrong"));
    // client-node does not decode 401 bodies; check the Status on the wire.
    expect((await apiError(anonymous.makeApiClient(CoreV1Api).listNamespace())).code).toBe(401);
    const raw = await fetch(`${server.url}/api/v1/namespaces`, { headers: { Authorization: "Bearer wrong" } });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
  });

  it("keeps status out of main-resource updates and spec out of status updates", async () => {
    await freshNamespace();
    await core.createNamespacedPod({ namespace: ns, body: { ...pod("a"), status: { phase: "Running", podIP: "10.0.0.9" } } });
    const created = await core.readNamespacedPod({ name: "a", namespace: ns });
    expect(created.status).toEqual({ phase: "Pending" });
    const withStatus = await core.replaceNamespacedPodStatus({
      name: "a",
      namespace: ns,
      body: { ...created, spec: { ...created.spec!, nodeName: "ignored" }, status: { phase: "Running", podIP: "10.0.0.9" } },
    });
    expect(withStatus.status).toEqual({ phase: "Running", podIP: "10.0.0.9" });
    expect(withStatus.spec?.nodeName).toBeUndefined();
    const labelled = await core.replaceNamespacedPod({ name: "a", namespace: ns, body: { ...withStatus, metadata: { ...withStatus.metadata, labels: { l: "1" } }, status: { phase: "Failed" } } });
    expect(labelled.status?.phase).toBe("Running");
    expect(labelled.metadata?.labels).toEqual({ l: "1" });
    expect((await core.listNamespacedPod({ namespace: ns, fieldSelector: "status.podIP=10.0.0.9" })).items).toHaveLength(1);
  });

  it("pages a list with limit and continue, and expires old continue tokens with 410", async () => {
    await freshNamespace();
    for (const name of ["a", "b", "c", "d", "e"]) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { k: name } } });
    const first = await core.listNamespacedConfigMap({ namespace: ns, limit: 2 });
    expect(first.items.map((c) => c.metadata?.name)).toEqual(["a", "b"]);
    expect(first.metadata?.remainingItemCount).toBe(3);
    // A change between pages does not show up: pages are a consistent snapshot.
    await core.deleteNamespacedConfigMap({ name: "d", namespace: ns });
    const second = await core.listNamespacedConfigMap({ namespace: ns, limit: 2, _continue: first.metadata?._continue ?? "" });
    expect(second.items.map((c) => c.metadata?.name)).toEqual(["c", "d"]);
    const third = await core.listNamespacedConfigMap({ namespace: ns, limit: 2, _continue: second.metadata?._continue ?? "" });
    expect(third.items.map((c) => c.metadata?.name)).toEqual(["e"]);
    expect(third.metadata?._continue).toBeUndefined();
    server.expireHistory();
    const gone = await apiError(core.listNamespacedConfigMap({ namespace: ns, limit: 2, _continue: first.metadata?._continue ?? "" }));
    expect(gone.body).toMatchObject({ reason: "Expired", code: 410 });
    const oldRv = await apiError(core.listNamespacedConfigMap({ namespace: ns, resourceVersion: first.metadata?.resourceVersion ?? "" }));
    expect(oldRv.code).toBe(410);
  });

  it("deletes objects with finalizers in two steps and cascades namespace deletion", async () => {
    await freshNamespace();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "s", finalizers: ["example.com/keep"] }, stringData: { a: "b" } } });
    await core.deleteNamespacedSecret({ name: "s", namespace: ns, body: { propagationPolicy: "Foreground" } });
    const still = await core.readNamespacedSecret({ name: "s", namespace: ns });
    expect(still.metadata?.deletionTimestamp).toBeDefined();
    expect(still.metadata?.finalizers).toEqual(["example.com/keep"]);
    const forbidden = await apiError(
      core.patchNamespacedSecret({ name: "s", namespace: ns, body: { metadata: { finalizers: ["example.com/keep", "x/new"] } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)),
    );
    expect(forbidden.code).toBe(422);
    await core.patchNamespacedSecret({ name: "s", namespace: ns, body: [{ op: "remove", path: "/metadata/finalizers" }] });
    expect((await apiError(core.readNamespacedSecret({ name: "s", namespace: ns }))).code).toBe(404);

    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "cm" } } });
    await core.deleteNamespace({ name: ns });
    expect((await apiError(core.readNamespacedConfigMap({ name: "cm", namespace: ns }))).code).toBe(404);
  });

  it("uses optimistic concurrency on Leases (409 means the race was lost)", async () => {
    await freshNamespace();
    const leases = kc.makeApiClient(CoordinationV1Api);
    const created = await leases.createNamespacedLease({ namespace: ns, body: { metadata: { name: "mic" }, spec: { holderIdentity: "a", leaseDurationSeconds: 15 } } });
    const renewTime = new Date("2024-01-01T00:00:00.123456Z");
    const won = await leases.replaceNamespacedLease({ name: "mic", namespace: ns, body: { ...created, spec: { ...created.spec, holderIdentity: "b", renewTime } } });
    expect(won.spec?.holderIdentity).toBe("b");
    expect(String(won.spec?.renewTime)).toContain("2024-01-01T00:00:00.123");
    const lost = await apiError(leases.replaceNamespacedLease({ name: "mic", namespace: ns, body: { ...created, spec: { ...created.spec, holderIdentity: "c" } } }));
    expect(lost.code).toBe(409);
  });
});

describe("patch content types", () => {
  it("applies JSON patch (the client default), merge patch and strategic merge patch to a pod", async () => {
    await freshNamespace();
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: "p", labels: { a: "1" } }, spec: { containers: [{ name: "main", image: "v1", env: [{ name: "X", value: "1" }] }, { name: "side", image: "s1" }] } },
    });
    const json = await core.patchNamespacedPod({ name: "p", namespace: ns, body: [{ op: "add", path: "/metadata/labels/b", value: "2" }] });
    expect(json.metadata?.labels).toEqual({ a: "1", b: "2" });
    const merge = await core.patchNamespacedPod(
      { name: "p", namespace: ns, body: { metadata: { labels: { a: null, c: "3" }, annotations: { note: "x" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(merge.metadata?.labels).toEqual({ b: "2", c: "3" });
    expect(merge.metadata?.annotations).toEqual({ note: "x" });
    const strategic = await core.patchNamespacedPod(
      { name: "p", namespace: ns, body: { metadata: { finalizers: ["x/f"] }, spec: { containers: [{ name: "main", image: "v2", env: [{ name: "Y", value: "2" }] }] } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    // Containers merge by name and env by name; the sidecar stays.
    expect(strategic.spec?.containers.map((c) => [c.name, c.image])).toEqual([["main", "v2"], ["side", "s1"]]);
    expect(strategic.spec?.containers[0]?.env?.map((e) => e.name)).toEqual(["X", "Y"]);
    expect(strategic.metadata?.finalizers).toEqual(["x/f"]);
    const failedTest = await apiError(core.patchNamespacedPod({ name: "p", namespace: ns, body: [{ op: "test", path: "/metadata/labels/b", value: "nope" }] }));
    expect(failedTest.code).toBe(422);
    const status = await core.patchNamespacedPodStatus(
      { name: "p", namespace: ns, body: { status: { podIP: "10.1.1.1", phase: "Running" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(status.status).toMatchObject({ podIP: "10.1.1.1", phase: "Running" });
  });

  it("patches custom objects with JSON and merge patch, refuses strategic merge (415) and server-side apply", async () => {
    await freshNamespace();
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: "v1",
      namespace: ns,
      plural: "azureassignedidentities",
      body: { apiVersion: `${GROUP}/v1`, kind: "AzureAssignedIdentity", metadata: { name: "aai" }, spec: { pod: "p" }, status: { status: "Created" } },
    });
    const jsonPatched = (await custom.patchNamespacedCustomObject({
      group: GROUP,
      version: "v1",
      namespace: ns,
      plural: "azureassignedidentities",
      name: "aai",
      body: [{ op: "replace", path: "/status/status", value: "Assigned" }],
    })) as { status: { status: string } };
    expect(jsonPatched.status.status).toBe("Assigned");
    const merged = (await custom.patchNamespacedCustomObject(
      { group: GROUP, version: "v1", namespace: ns, plural: "azureassignedidentities", name: "aai", body: { metadata: { labels: { nodename: "n1" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as { metadata: { labels: Record<string, string> } };
    expect(merged.metadata.labels).toEqual({ nodename: "n1" });
    for (const type of [PatchStrategy.StrategicMergePatch, PatchStrategy.ServerSideApply]) {
      const refused = await apiError(
        custom.patchNamespacedCustomObject(
          { group: GROUP, version: "v1", namespace: ns, plural: "azureassignedidentities", name: "aai", body: { spec: { pod: "q" } } },
          setHeaderOptions("Content-Type", type),
        ),
      );
      expect(refused.code).toBe(415);
    }
  });

  it("round-trips arbitrary objects through KubernetesObjectApi", async () => {
    await freshNamespace();
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const spec = { type: 1, clientID: "c", SomethingNew: { nested: [1, "two", null, { deep: true }] } };
    await objects.create({ apiVersion: `${GROUP}/v1`, kind: "AzureIdentity", metadata: { name: "id", namespace: ns }, spec } as never);
    const read = (await objects.read({ apiVersion: `${GROUP}/v1`, kind: "AzureIdentity", metadata: { name: "id", namespace: ns } })) as unknown as { spec: unknown };
    expect(read.spec).toEqual(spec);
  });
});

describe("fault hooks", () => {
  it("fails the next writes with 409, 500 and 429 + Retry-After, optionally only for one resource", async () => {
    await freshNamespace();
    server.failNextWrites(1, 429, { retryAfterSeconds: 7 });
    const throttled = await apiError(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "a" } } }));
    expect(throttled.code).toBe(429);
    expect(throttled.headers["retry-after"]).toBe("7");
    expect(throttled.body).toMatchObject({ reason: "TooManyRequests", details: { retryAfterSeconds: 7 } });
    server.failNextWrites(1, 500);
    expect((await apiError(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "a" } } }))).code).toBe(500);
    server.failNextWrites(2, 409, { resource: "azureassignedidentities" });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "a" } } });
    expect(server.pendingWriteFailures).toBe(2);
    const body = { apiVersion: `${GROUP}/v1`, kind: "AzureAssignedIdentity", metadata: { name: "x" } };
    const create = (): Promise<unknown> => custom.createNamespacedCustomObject({ group: GROUP, version: "v1", namespace: ns, plural: "azureassignedidentities", body });
    expect((await apiError(create())).body).toMatchObject({ reason: "Conflict" });
    expect((await apiError(create())).code).toBe(409);
    await create();
    expect(server.store.get("azureassignedidentities", "x", ns)).toBeDefined();
  });

  it("delays requests", async () => {
    server.delay(150);
    const started = Date.now();
    await core.listNamespace();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe("watch", () => {
  it("resumes from a resourceVersion, reports selector transitions, bookmarks, and ends on timeoutSeconds", async () => {
    await freshNamespace();
    await core.createNamespacedPod({ namespace: ns, body: pod("before", { app: "x" }) });
    const from = server.revision;
    await core.createNamespacedPod({ namespace: ns, body: pod("a", { app: "x" }) });
    await core.patchNamespacedPod({ name: "a", namespace: ns, body: [{ op: "replace", path: "/metadata/labels/app", value: "y" }] });
    await core.patchNamespacedPod({ name: "a", namespace: ns, body: [{ op: "replace", path: "/metadata/labels/app", value: "x" }] });
    const events: [string, string, string][] = [];
    let done: unknown = "open";
    const started = Date.now();
    await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { resourceVersion: String(from), labelSelector: "app=x", allowWatchBookmarks: true, timeoutSeconds: 1 },
      (type, obj: { metadata?: { name?: string; resourceVersion?: string } }) => events.push([type, obj.metadata?.name ?? "", obj.metadata?.resourceVersion ?? ""]),
      (err) => {
        done = err;
      },
    );
    await waitFor("the replayed events", () => events.length >= 3);
    await core.deleteNamespacedPod({ name: "a", namespace: ns });
    await waitFor("timeoutSeconds to end the watch", () => done !== "open", 4000);
    expect(done).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const changes = events.filter(([type]) => type !== "BOOKMARK").map(([type, name]) => `${type} ${name}`);
    expect(changes).toEqual(["ADDED a", "DELETED a", "ADDED a", "DELETED a"]);
    const bookmarks = events.filter(([type]) => type === "BOOKMARK");
    expect(bookmarks.length).toBeGreaterThan(0);
    expect(Number(bookmarks[bookmarks.length - 1]?.[2])).toBe(server.revision);
  });

  it("sends a 410 ERROR event for an expired resourceVersion", async () => {
    await freshNamespace();
    const old = server.revision;
    await core.createNamespacedPod({ namespace: ns, body: pod("a") });
    server.expireHistory();
    const events: { type: string; code?: number }[] = [];
    let done: unknown = "open";
    await new Watch(kc).watch(`/api/v1/namespaces/${ns}/pods`, { resourceVersion: String(old) }, (type, obj: { code?: number }) => events.push({ type, ...(obj.code !== undefined ? { code: obj.code } : {}) }), (err) => {
      done = err;
    });
    await waitFor("the watch to end", () => done !== "open");
    expect(events).toEqual([{ type: "ERROR", code: 410 }]);
  });
});

describe("informer", () => {
  it("lists, watches, relists after a forced 410 and resumes after a graceful drop", async () => {
    await freshNamespace();
    const path = `/api/v1/namespaces/${ns}/pods`;
    const informer = makeInformer(kc, path, () => core.listNamespacedPod({ namespace: ns }));
    const log: string[] = [];
    let connects = 0;
    informer.on("add", (p) => log.push(`add ${p.metadata?.name ?? ""}`));
    informer.on("update", (p) => log.push(`update ${p.metadata?.name ?? ""}`));
    informer.on("delete", (p) => log.push(`delete ${p.metadata?.name ?? ""}`));
    informer.on("connect", () => (connects += 1));
    const errors: unknown[] = [];
    informer.on("error", (e) => errors.push(e));
    const lists = (): number => server.requests.filter((r) => r.method === "GET" && r.path === path && !r.query.includes("watch")).length;
    // client-node backs off 1 s, 2 s, … between reconnects until a watch event arrives; an event after
    // each reconnect keeps this test fast.
    const touch = async (name: string): Promise<void> => {
      await waitFor("the watch to reopen", () => server.openWatches > 0);
      await core.createNamespacedPod({ namespace: ns, body: pod(name) });
      await waitFor(`${name} to arrive`, () => log.includes(`add ${name}`));
    };
    try {
      await core.createNamespacedPod({ namespace: ns, body: pod("p1") });
      await informer.start();
      expect(lists()).toBe(1);
      await touch("p2");

      // While no watch is open, p2 goes away and the history is compacted: the resumed watch gets a 410
      // ERROR event, the informer relists and reports the deletion it missed.
      server.dropWatches({ mode: "graceful" });
      server.store.remove("pods", "p2", ns);
      server.expireHistory({ notifyWatches: false });
      await waitFor("the relist to delete p2", () => log.includes("delete p2"));
      expect(lists()).toBe(2);
      await touch("t1");

      // A 410 pushed to the open watch (notifyWatches, the default) also makes it relist.
      server.expireHistory();
      await waitFor("another relist", () => lists() === 3);
      await touch("t2");

      // A graceful drop: the informer resumes from its resourceVersion (no relist) and sees what changed meanwhile.
      server.dropWatches({ mode: "graceful" });
      await core.createNamespacedPod({ namespace: ns, body: pod("p3") });
      await core.patchNamespacedPod({ name: "p1", namespace: ns, body: [{ op: "add", path: "/metadata/labels", value: { x: "1" } }] });
      await waitFor("p3 and the update after reconnect", () => log.includes("add p3") && log.includes("update p1"));
      expect(lists()).toBe(3);
      expect(connects).toBe(5);
      expect(informer.list().map((p) => p.metadata?.name).sort()).toEqual(["p1", "p3", "t1", "t2"]);
      expect(errors).toEqual([]);
    } finally {
      await informer.stop();
    }
  }, 15_000);

  it("emits error after an abrupt drop (client-node stops), and a restart resyncs", async () => {
    await freshNamespace();
    const informer = makeInformer(kc, `/api/v1/namespaces/${ns}/pods`, () => core.listNamespacedPod({ namespace: ns }));
    const errors: unknown[] = [];
    informer.on("error", (e) => errors.push(e));
    try {
      await core.createNamespacedPod({ namespace: ns, body: pod("p1") });
      await informer.start();
      await waitFor("the watch to open", () => server.openWatches > 0 && informer.list().length === 1);
      expect(server.dropWatches()).toBeGreaterThan(0);
      await waitFor("the informer error", () => errors.length > 0);
      await core.createNamespacedPod({ namespace: ns, body: pod("p2") });
      await new Promise((r) => setTimeout(r, 100));
      expect(informer.list()).toHaveLength(1);
      await informer.start();
      await waitFor("the resync", () => informer.list().length === 2);
    } finally {
      await informer.stop();
    }
  });
});
