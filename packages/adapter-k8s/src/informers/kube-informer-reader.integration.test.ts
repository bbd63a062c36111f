import { readFileSync } from "node:fs";
import { PatchStrategy } from "@kubernetes/client-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODENAME_LABEL, type AzureIdentity, type PodView, type ResourceEvent } from "@podid/core";
import { FakeKubeApiServer, RecordingLogger } from "@podid/testkit";
import { TypedKubeClient, loadTypedKubeConfig } from "../client-node/index.js";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { KubeEventRecorder } from "../events/kube-event-recorder.js";
import { INVALID_OBJECT_REASON } from "./invalid-object-reporter.js";
import { KubeInformerReader } from "./kube-informer-reader.js";

const CRDS = readFileSync(new URL("../../../../deploy/crds.yaml", import.meta.url), "utf8");
const GROUP = { group: "aadpodidentity.k8s.io", version: "v1" } as const;
const RESOURCE_ID = (name: string): string => `/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

/** Fast reconnects and restarts so fault sequences settle in milliseconds, not client-node's seconds. */
const FAST = { backoff: { initialMs: 20, maxMs: 200, jitter: 0.5 }, maxReconnectDelayMs: 20 } as const;

/** Creates a pod and sets its status the way the kubelet does (status is ignored on create). */
/** The typed client-node client (test fixtures only: the code under test uses the lean {@link KubeClient}). */
const typedClient = (yaml: string): TypedKubeClient => new TypedKubeClient({ kubeConfig: loadTypedKubeConfig({ kind: "yaml", yaml }), qps: Number.POSITIVE_INFINITY });

async function createPod(client: TypedKubeClient, manifest: ReturnType<typeof podManifest>): Promise<void> {
  const { namespace, name } = manifest.metadata;
  await client.core.createNamespacedPod({ namespace, body: manifest });
  await client.core.patchNamespacedPodStatus({ namespace, name, body: { status: manifest.status } }, client.patchOptions(PatchStrategy.MergePatch));
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function podManifest(namespace: string, name: string, ip: string, label: string, nodeName = "node-1") {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { aadpodidbinding: label } },
    spec: { nodeName, serviceAccountName: "default", containers: [{ name: "c", image: "busybox" }] },
    status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
  };
}

function identityManifest(namespace: string, name: string, clientID: string): object {
  return {
    apiVersion: "aadpodidentity.k8s.io/v1",
    kind: "AzureIdentity",
    metadata: { name, namespace },
    spec: { type: 0, resourceID: RESOURCE_ID(name), clientID },
  };
}

describe("KubeInformerReader against the fake kube-apiserver", () => {
  let server: FakeKubeApiServer;
  let writer: TypedKubeClient;

  beforeAll(async () => {
    server = await FakeKubeApiServer.start({ bookmarkIntervalMs: 200 });
    server.applyManifests(CRDS);
    writer = typedClient(server.kubeconfig());
  });
  afterAll(async () => {
    await server.close();
  });

  const newReader = (extra: Partial<ConstructorParameters<typeof KubeInformerReader>[0]> = {}): KubeInformerReader =>
    new KubeInformerReader({
      client: new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY }),
      resources: ["pods", "azureidentities"],
      ...FAST,
      ...extra,
    });

  /** Server truth: namespace/name → resourceVersion of every pod and identity (via the store, no HTTP). */
  const serverState = (): Map<string, string> =>
    new Map([
      ...server.store.list("pods").map((o) => [`pods/${String(o.metadata["namespace"])}/${String(o.metadata["name"])}`, String(o.metadata["resourceVersion"])] as const),
      ...server.store.list("azureidentities").map((o) => [`azureidentities/${String(o.metadata["namespace"])}/${String(o.metadata["name"])}`, String(o.metadata["resourceVersion"])] as const),
    ]);
  const readerState = (reader: KubeInformerReader): Map<string, string> =>
    new Map([
      ...reader.list("pods").map((p) => [`pods/${p.metadata.namespace}/${p.metadata.name}`, p.metadata.resourceVersion ?? ""] as const),
      ...reader.list("azureidentities").map((i) => [`azureidentities/${i.metadata.namespace}/${i.metadata.name}`, i.metadata.resourceVersion ?? ""] as const),
    ]);
  const sameMaps = (a: Map<string, string>, b: Map<string, string>): boolean => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

  it("(a) the cache equals the server after random writes interleaved with dropped watches and forced 410s (property)", async () => {
    const reader = newReader();
    // A model fed only by subscribe(): proves the event stream (with `previous`) reconstructs the cache.
    const streamed = new Map<string, PodView | AzureIdentity>();
    const check = (kind: string) => (event: ResourceEvent<PodView | AzureIdentity>): void => {
      const key = `${kind}/${event.object.metadata.namespace}/${event.object.metadata.name}`;
      if (event.type === "added") expect(streamed.has(key)).toBe(false);
      if (event.type === "modified") expect(event.previous).toEqual(streamed.get(key));
      if (event.type === "deleted") streamed.delete(key);
      else streamed.set(key, event.object);
    };
    reader.subscribe("pods", check("pods"));
    reader.subscribe("azureidentities", check("azureidentities"));
    reader.start();
    await reader.whenSynced();

    const name = fc.constantFrom("a", "b", "c");
    const ns = fc.constantFrom("default", "team-a");
    const op = fc.oneof(
      fc.record({ kind: fc.constant("putPod" as const), ns, name, label: fc.constantFrom("x", "y", "z"), ip: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("deletePod" as const), ns, name }),
      fc.record({ kind: fc.constant("putIdentity" as const), ns, name, clientID: fc.constantFrom("c1", "c2") }),
      fc.record({ kind: fc.constant("deleteIdentity" as const), ns, name }),
      fc.record({ kind: fc.constant("dropWatches" as const), graceful: fc.boolean() }),
      fc.record({ kind: fc.constant("expireHistory" as const) }),
    );
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
          for (const o of ops) {
            switch (o.kind) {
              case "putPod": {
                const body = podManifest(o.ns, o.name, `10.0.0.${o.ip}`, o.label);
                if (server.store.get("pods", o.name, o.ns) === undefined) await createPod(writer, body);
                else {
                  await writer.core.patchNamespacedPod({ namespace: o.ns, name: o.name, body: { metadata: { labels: body.metadata.labels } } }, writer.patchOptions(PatchStrategy.MergePatch));
                  await writer.core.patchNamespacedPodStatus({ namespace: o.ns, name: o.name, body: { status: body.status } }, writer.patchOptions(PatchStrategy.MergePatch));
                }
                break;
              }
              case "deletePod":
                if (server.store.get("pods", o.name, o.ns) !== undefined) await writer.core.deleteNamespacedPod({ namespace: o.ns, name: o.name });
                break;
              case "putIdentity": {
                const body = identityManifest(o.ns, o.name, o.clientID);
                const existing = server.store.get("azureidentities", o.name, o.ns);
                if (existing === undefined) await writer.custom.createNamespacedCustomObject({ ...GROUP, plural: "azureidentities", namespace: o.ns, body });
                else await writer.custom.patchNamespacedCustomObject({ ...GROUP, plural: "azureidentities", namespace: o.ns, name: o.name, body: [{ op: "replace", path: "/spec/clientID", value: o.clientID }] });
                break;
              }
              case "deleteIdentity":
                if (server.store.get("azureidentities", o.name, o.ns) !== undefined) await writer.custom.deleteNamespacedCustomObject({ ...GROUP, plural: "azureidentities", namespace: o.ns, name: o.name });
                break;
              case "dropWatches":
                server.dropWatches({ mode: o.graceful ? "graceful" : "abrupt" });
                break;
              case "expireHistory":
                server.expireHistory();
                break;
            }
          }
          await until("the informer cache to catch up", () => sameMaps(readerState(reader), serverState()));
          expect(new Map([...streamed].map(([k, v]) => [k, v.metadata.resourceVersion ?? ""]))).toEqual(serverState());
          // Index: every pod is found by its IP, and only pods with that IP are.
          for (const pod of reader.list("pods")) expect(reader.podsByIP(pod.podIP)).toContainEqual(pod);
          for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
            expect(reader.podsByIP(ip).map((p) => p.metadata.name).sort()).toEqual(reader.list("pods").filter((p) => p.podIP === ip).map((p) => p.metadata.name).sort());
          }
        }),
        { numRuns: 25, endOnFailure: true },
      );
      const stats = reader.stats();
      // The faults really happened: restarts after abrupt drops, relists after 410s.
      expect((stats.pods?.lists ?? 0) + (stats.azureidentities?.lists ?? 0)).toBeGreaterThan(2);
    } finally {
      await reader.stop();
    }
  }, 60_000);

  it("(b) skips invalid objects with one Event per version while valid ones keep flowing", async () => {
    const logger = new RecordingLogger();
    const eventsClient = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
    const events = new KubeEventRecorder({ client: eventsClient, logger });
    const reader = newReader({ resources: ["azureidentities"], events, logger });
    reader.start();
    await reader.whenSynced();
    try {
      // A pre-1.6 PascalCase identity without the camelCase fields the v1 API requires: resourceID missing.
      await writer.custom.createNamespacedCustomObject({
        ...GROUP,
        plural: "azureidentities",
        namespace: "legacy",
        body: { apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentity", metadata: { name: "broken", namespace: "legacy" }, spec: { type: 0, clientID: "c" } },
      });
      await writer.custom.createNamespacedCustomObject({ ...GROUP, plural: "azureidentities", namespace: "legacy", body: identityManifest("legacy", "fine", "c9") });
      await until("the valid identity", () => reader.get("azureidentities", "legacy", "fine") !== undefined);
      expect(reader.get("azureidentities", "legacy", "broken")).toBeUndefined();

      // Replays (a relist after 410, restarts after dropped watches) must not report it again.
      server.expireHistory();
      server.dropWatches();
      await writer.custom.patchNamespacedCustomObject({ ...GROUP, plural: "azureidentities", namespace: "legacy", name: "fine", body: [{ op: "replace", path: "/spec/clientID", value: "c10" }] });
      await until("the valid identity's update", () => reader.get("azureidentities", "legacy", "fine")?.spec.clientID === "c10");
      reader.relistAll("test");
      await new Promise((resolve) => setTimeout(resolve, 200));
      await events.flush();
      const stored = await writer.core.listNamespacedEvent({ namespace: "legacy" });
      const invalid = stored.items.filter((e) => e.reason === INVALID_OBJECT_REASON);
      expect(invalid).toHaveLength(1);
      expect(invalid[0]).toMatchObject({
        type: "Warning",
        involvedObject: { kind: "AzureIdentity", name: "broken", namespace: "legacy", apiVersion: "aadpodidentity.k8s.io/v1" },
        source: { component: "aadpodidentity.k8s.io" },
        count: 1,
      });
      expect(invalid[0]?.message).toMatch(/AzureIdentity legacy\/broken is invalid: spec.resourceID/);
      expect(logger.findAll(/ignoring invalid object/)).toHaveLength(1);

      // Fixing the object makes it appear; breaking it again is a new version and is reported again.
      await writer.custom.patchNamespacedCustomObject({ ...GROUP, plural: "azureidentities", namespace: "legacy", name: "broken", body: [{ op: "add", path: "/spec/resourceID", value: RESOURCE_ID("broken") }] });
      await until("the repaired identity", () => reader.get("azureidentities", "legacy", "broken") !== undefined);
      await writer.custom.patchNamespacedCustomObject({ ...GROUP, plural: "azureidentities", namespace: "legacy", name: "broken", body: [{ op: "replace", path: "/spec/type", value: 7 }] });
      await until("the broken identity to vanish", () => reader.get("azureidentities", "legacy", "broken") === undefined);
      await events.flush();
      const after = await writer.core.listNamespacedEvent({ namespace: "legacy" });
      expect(after.items.filter((e) => e.reason === INVALID_OBJECT_REASON)).toHaveLength(2);
    } finally {
      await reader.stop();
    }
  }, 20_000);

  it("scopes NMI's informers to its node and indexes AAIs by pod and by nodename", async () => {
    const reader = newReader({ resources: ["pods", "azureassignedidentities"], podNodeName: "node-7", assignedIdentityNodeName: "node-7" });
    await createPod(writer, podManifest("nmi", "mine", "10.1.0.1", "x", "node-7"));
    await createPod(writer, podManifest("nmi", "other", "10.1.0.2", "x", "node-8"));
    const identity = identityManifest("nmi", "id", "c1");
    const aai = (name: string, node: string): object => ({
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureAssignedIdentity",
      metadata: { name, namespace: "nmi", labels: { [NODENAME_LABEL]: node } },
      spec: {
        azureIdentityRef: identity,
        azureBindingRef: { apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name: "b", namespace: "nmi" }, spec: { azureIdentity: "id", selector: "x" } },
        pod: "mine",
        podNamespace: "nmi",
        nodename: node,
      },
      status: { status: "Assigned", availableReplicas: 1 },
    });
    await writer.custom.createNamespacedCustomObject({ ...GROUP, plural: "azureassignedidentities", namespace: "nmi", body: aai("mine-nmi-id", "node-7") });
    await writer.custom.createNamespacedCustomObject({ ...GROUP, plural: "azureassignedidentities", namespace: "nmi", body: aai("mine-nmi-id-8", "node-8") });
    reader.start();
    try {
      await reader.whenSynced();
      expect(reader.hasSynced()).toBe(true);
      expect(reader.list("pods", "nmi").map((p) => p.metadata.name)).toEqual(["mine"]);
      expect(reader.podsByIP("10.1.0.1").map((p) => p.metadata.name)).toEqual(["mine"]);
      expect(reader.podsByIP("::ffff:10.1.0.1").map((p) => p.metadata.name)).toEqual(["mine"]);
      expect(reader.podsByIP("10.1.0.2")).toEqual([]);
      expect(reader.assignedIdentitiesForPod("nmi", "mine").map((a) => a.metadata.name)).toEqual(["mine-nmi-id"]);
      expect(reader.assignedIdentitiesOnNode("node-7").map((a) => a.metadata.name)).toEqual(["mine-nmi-id"]);
      expect(reader.assignedIdentitiesOnNode("node-8")).toEqual([]);
      // Requests carried the selectors.
      expect(server.requests.some((r) => r.path === "/api/v1/pods" && decodeURIComponent(r.query).includes("fieldSelector=spec.nodeName=node-7"))).toBe(true);
      expect(server.requests.some((r) => r.path.endsWith("/azureassignedidentities") && decodeURIComponent(r.query).includes("labelSelector=nodename=node-7"))).toBe(true);
      await writer.custom.deleteNamespacedCustomObject({ ...GROUP, plural: "azureassignedidentities", namespace: "nmi", name: "mine-nmi-id" });
      await until("the AAI index to drop the deleted object", () => reader.assignedIdentitiesForPod("nmi", "mine").length === 0);
    } finally {
      await reader.stop();
    }
  }, 20_000);

  it("caches only what podid reads of pods and nodes, keeps AAIs whole and shares their repeated values", async () => {
    const reader = newReader({ resources: ["pods", "nodes", "azureassignedidentities"] });
    const bulky = { "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(2000) };
    server.store.upsert({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "trimmed", namespace: "shape", labels: { aadpodidbinding: "sel" }, annotations: bulky, finalizers: ["example.com/hold"] },
      spec: { nodeName: "node-shape", containers: [{ name: "c", image: "busybox" }] },
    });
    server.store.upsert({ apiVersion: "v1", kind: "Node", metadata: { name: "node-shape", labels: { zone: "1" }, annotations: bulky }, spec: { providerID: "azure:///x" } });
    const identity = { apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentity", metadata: { name: "id", namespace: "shape" }, spec: { type: 0, resourceID: RESOURCE_ID("id"), clientID: "c1" } };
    const binding = { apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name: "b", namespace: "shape" }, spec: { azureIdentity: "id", selector: "sel" } };
    for (const name of ["one", "two"]) {
      server.store.upsert({
        apiVersion: "aadpodidentity.k8s.io/v1",
        kind: "AzureAssignedIdentity",
        metadata: { name, namespace: "shape", labels: { [NODENAME_LABEL]: "node-shape" }, annotations: { note: "kept" }, finalizers: ["azureassignedidentity.finalizers.aadpodidentity.k8s.io"] },
        spec: { azureIdentityRef: identity, azureBindingRef: binding, pod: name, podNamespace: "shape", nodename: "node-shape" },
        status: { status: "Assigned", availableReplicas: 1 },
      });
    }
    // Asked before the first list: the index is built empty and kept in step by the informer's events.
    expect(reader.assignedIdentitiesOnNode("node-shape")).toEqual([]);
    reader.start();
    try {
      await reader.whenSynced();
      const pod = reader.get("pods", "shape", "trimmed");
      // Exactly these keys: no annotations, finalizers or creationTimestamp are kept for a pod.
      expect(pod?.metadata).toStrictEqual({ name: "trimmed", namespace: "shape", uid: expect.any(String), resourceVersion: expect.any(String), labels: { aadpodidbinding: "sel" }, annotations: {}, finalizers: [] });
      expect(pod?.nodeName).toBe("node-shape");
      const node = reader.get("nodes", "", "node-shape");
      expect(node?.metadata).toStrictEqual({ name: "node-shape", namespace: "", uid: expect.any(String), resourceVersion: expect.any(String), labels: {}, annotations: {}, finalizers: [] });
      expect(node?.providerID).toBe("azure:///x");
      const [one, two] = ["one", "two"].map((name) => reader.get("azureassignedidentities", "shape", name));
      // AAIs are written back by MIC: everything stays, and equal maps and lists are one shared frozen copy.
      expect(one?.metadata.creationTimestamp).toEqual(expect.any(String));
      expect(one?.metadata.annotations).toEqual({ note: "kept" });
      expect(one?.metadata.finalizers).toEqual(["azureassignedidentity.finalizers.aadpodidentity.k8s.io"]);
      expect(one?.metadata.labels).toBe(two?.metadata.labels);
      expect(one?.metadata.annotations).toBe(two?.metadata.annotations);
      expect(one?.metadata.finalizers).toBe(two?.metadata.finalizers);
      expect(Object.isFrozen(one?.metadata.labels)).toBe(true);
      expect(reader.assignedIdentitiesOnNode("node-shape").map((a) => a.metadata.name)).toEqual(["one", "two"]);
    } finally {
      await reader.stop();
    }
  }, 20_000);

  it("reads secrets on demand and maps a missing one to notFound", async () => {
    const reader = newReader({ resources: [] });
    await writer.core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "sp" }, data: { clientSecret: Buffer.from("s3cr3t").toString("base64") } } });
    const read = await reader.readSecret("default", "sp");
    expect(read.ok && Buffer.from(read.value["clientSecret"] ?? []).toString()).toBe("s3cr3t");
    expect(await reader.readSecret("default", "nope")).toMatchObject({ ok: false, error: { kind: "notFound" } });
  });

  it("restarts after the API server goes away and reconciles against whatever it finds on return", async () => {
    const first = await FakeKubeApiServer.start();
    first.applyManifests(CRDS);
    const port = first.port;
    const yaml = first.kubeconfig();
    const logger = new RecordingLogger();
    const reader = new KubeInformerReader({
      client: new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml }), qps: Number.POSITIVE_INFINITY }),
      resources: ["pods"],
      logger,
      ...FAST,
    });
    const direct = typedClient(yaml);
    await createPod(direct, podManifest("default", "old", "10.2.0.1", "x"));
    await createPod(direct, podManifest("default", "twin", "10.2.0.3", "x"));
    const deleted: string[] = [];
    const twin: string[] = [];
    reader.subscribe("pods", (e) => {
      if (e.type === "deleted") deleted.push(e.object.metadata.name);
      if (e.object.metadata.name === "twin") twin.push(`${e.type}:${e.object.metadata.uid ?? ""}`);
    });
    reader.start();
    let second: FakeKubeApiServer | undefined;
    try {
      await reader.whenSynced();
      expect(reader.list("pods").map((p) => p.metadata.name).sort()).toEqual(["old", "twin"]);
      await first.close();
      await until("a restart after the connection failures", () => logger.findAll(/restarting with backoff/).length >= 2);
      second = await FakeKubeApiServer.start({ port });
      const again = typedClient(yaml);
      await createPod(again, podManifest("default", "new", "10.2.0.2", "x"));
      await createPod(again, podManifest("default", "twin", "10.2.0.3", "x"));
      await until("the cache to match the new server", () => reader.list("pods").map((p) => p.metadata.name).sort().join() === "new,twin");
      expect(deleted.sort()).toEqual(["old", "twin"]);
      // Same name, new uid: a delete of the old object and an add of the new one, never a "modified".
      const [firstUid, secondUid] = [twin[0]?.split(":")[1], reader.get("pods", "default", "twin")?.metadata.uid];
      expect(firstUid).not.toBe(secondUid);
      expect(twin).toEqual([`added:${firstUid}`, `deleted:${firstUid}`, `added:${secondUid}`]);
      expect(reader.podsByIP("10.2.0.1")).toEqual([]);
    } finally {
      await reader.stop();
      await first.close();
      await second?.close();
    }
  }, 20_000);

  it("relists when the watchdog sees no event or bookmark, and a stopped reader stays stopped", async () => {
    const quiet = await FakeKubeApiServer.start({ bookmarkIntervalMs: 60_000 });
    const reader = new KubeInformerReader({
      client: new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: quiet.kubeconfig() }), qps: Number.POSITIVE_INFINITY }),
      resources: ["nodes"],
      watchdogMs: 150,
      ...FAST,
    });
    try {
      reader.start();
      await reader.whenSynced();
      // The first list, then at least two relists the watchdog forced (nothing else happens on this server).
      await until("watchdog relists", () => (reader.stats().nodes?.forcedRelists ?? 0) >= 2 && (reader.stats().nodes?.lists ?? 0) >= 3, 5000);
      expect(reader.stats().nodes?.restarts).toBe(0);
      // Stop while a watch may be connecting: nothing may come back to life afterwards.
      reader.relistAll("race a stop");
      await reader.stop();
      await new Promise((resolve) => setTimeout(resolve, 100)); // requests already in flight finish
      const before = quiet.requests.length;
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(quiet.requests.slice(before).filter((r) => r.path === "/api/v1/nodes")).toEqual([]);
      expect(quiet.openWatches).toBe(0);
    } finally {
      await reader.stop();
      await quiet.close();
    }
  }, 20_000);
});
