import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ASSIGNED_IDENTITY_FINALIZER,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type ObjectMeta,
  type PodView,
  type ResourceEvent,
} from "@podid/core";
import { FakeCluster } from "./fake-cluster.js";

function meta(namespace: string, name: string, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { namespace, name, labels: {}, annotations: {}, finalizers: [], ...extra };
}

function pod(namespace: string, name: string, nodeName = "node-a"): PodView {
  return {
    kind: "Pod",
    metadata: meta(namespace, name, { labels: { aadpodidbinding: "sel" } }),
    nodeName,
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Running",
    podIP: "10.0.0.5",
    podIPs: ["10.0.0.5"],
  };
}

const identity: AzureIdentity = {
  kind: "AzureIdentity",
  metadata: meta("default", "id1"),
  spec: {
    type: 0,
    resourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
    clientID: "00000000-0000-0000-0000-000000000001",
    tenantID: "",
    auxiliaryTenantIDs: [],
    adEndpoint: "",
    adResourceID: "",
    serviceAccounts: [],
  },
};

const binding: AzureIdentityBinding = {
  kind: "AzureIdentityBinding",
  metadata: meta("default", "b1"),
  spec: { azureIdentity: "id1", selector: "sel" },
};

function aai(name: string, nodeName = "node-a"): AzureAssignedIdentity {
  return {
    kind: "AzureAssignedIdentity",
    metadata: meta("default", name, { labels: { nodename: nodeName }, finalizers: [ASSIGNED_IDENTITY_FINALIZER] }),
    spec: { azureIdentityRef: identity, azureBindingRef: binding, pod: "p1", podNamespace: "default", nodeName },
    status: "Created",
  };
}

describe("FakeCluster reader", () => {
  it("stores objects with uid, monotonic resourceVersions and creationTimestamp; lists by namespace", () => {
    const cluster = new FakeCluster({ clock: { now: () => Date.UTC(2024, 0, 2, 3, 4, 5) } });
    const a = cluster.apply("pods", pod("ns1", "a"));
    const b = cluster.apply("pods", pod("ns2", "b"));
    expect(a.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.metadata.uid).not.toBe(b.metadata.uid);
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    expect(a.metadata.creationTimestamp).toBe("2024-01-02T03:04:05Z");
    expect(cluster.list("pods").map((p) => p.metadata.name)).toEqual(["a", "b"]);
    expect(cluster.list("pods", "ns2").map((p) => p.metadata.name)).toEqual(["b"]);
    expect(cluster.get("pods", "ns1", "a")).toEqual(a);
    expect(cluster.get("pods", "ns1", "b")).toBeUndefined();

    const moved = cluster.apply("pods", pod("ns1", "a", "node-b"));
    expect(moved.metadata.uid).toBe(a.metadata.uid);
    expect(moved.metadata.creationTimestamp).toBe(a.metadata.creationTimestamp);
    expect(Number(moved.metadata.resourceVersion)).toBeGreaterThan(Number(b.metadata.resourceVersion));
    expect(cluster.revision).toBe(Number(moved.metadata.resourceVersion));
  });

  it("emits added/modified/deleted with previous state, synchronously by default", () => {
    const cluster = new FakeCluster();
    const events: Array<ResourceEvent<PodView>> = [];
    const stop = cluster.subscribe("pods", (e) => events.push(e));
    const first = cluster.apply("pods", pod("ns", "p"));
    const second = cluster.apply("pods", pod("ns", "p", "node-b"));
    expect(cluster.remove("pods", "ns", "p")).toBe(true);
    expect(cluster.remove("pods", "ns", "p")).toBe(false);
    expect(events.map((e) => e.type)).toEqual(["added", "modified", "deleted"]);
    expect(events[1]?.previous).toEqual(first);
    expect(events[2]?.object).toEqual(second);
    stop();
    cluster.apply("pods", pod("ns", "q"));
    expect(events).toHaveLength(3);
  });

  it("delivers events on a microtask when asked to", async () => {
    const cluster = new FakeCluster({ delivery: "microtask" });
    const seen: string[] = [];
    cluster.subscribe("nodes", (e) => seen.push(`${e.type}:${e.object.metadata.name}`));
    cluster.apply("nodes", { kind: "Node", metadata: meta("", "n1"), providerID: "" });
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual(["added:n1"]);
  });

  it("refuses to store an object under the wrong resource", () => {
    const cluster = new FakeCluster();
    expect(() => cluster.apply("nodes", pod("ns", "p") as never)).toThrow(/cannot be stored/);
  });

  it("requestDeletion keeps objects with finalizers until the finalizer goes", () => {
    const cluster = new FakeCluster();
    cluster.apply("azureassignedidentities", aai("x"));
    expect(cluster.requestDeletion("azureassignedidentities", "default", "x")).toBe("terminating");
    const held = cluster.get("azureassignedidentities", "default", "x");
    expect(held?.metadata.deletionTimestamp).toBeDefined();
    cluster.apply("pods", pod("ns", "p"));
    expect(cluster.requestDeletion("pods", "ns", "p")).toBe("deleted");
    expect(cluster.requestDeletion("pods", "ns", "p")).toBe("notFound");
  });

  it("serves secrets as decoded bytes and reports missing ones", async () => {
    const cluster = new FakeCluster();
    cluster.applySecret("ns", "sp", { clientsecret: "s3cret", cert: Uint8Array.of(1, 2, 3) });
    const read = await cluster.readSecret("ns", "sp");
    expect(read.ok && new TextDecoder().decode(read.value["clientsecret"])).toBe("s3cret");
    expect(read.ok && [...(read.value["cert"] ?? [])]).toEqual([1, 2, 3]);
    const missing = await cluster.readSecret("ns", "nope");
    expect(missing.ok ? undefined : missing.error.kind).toBe("notFound");
    cluster.failNextSecretReads(1, { kind: "forbidden", message: "rbac" });
    const denied = await cluster.readSecret("ns", "sp");
    expect(denied.ok ? undefined : denied.error.kind).toBe("forbidden");
    expect(cluster.secretReads).toBe(3);
    expect(cluster.removeSecret("ns", "sp")).toBe(true);
  });

  it("hasSynced can be switched off for start-up tests", () => {
    const cluster = new FakeCluster();
    expect(cluster.hasSynced()).toBe(true);
    cluster.setSynced(false);
    expect(cluster.hasSynced()).toBe(false);
  });

  it("property: replaying watch events reproduces the store, and resourceVersions only grow", () => {
    const op = fc.record({
      remove: fc.boolean(),
      ns: fc.constantFrom("a", "b"),
      name: fc.constantFrom("p1", "p2", "p3"),
      node: fc.constantFrom("n1", "n2"),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const cluster = new FakeCluster();
        const mirror = new Map<string, PodView>();
        let lastRv = 0;
        cluster.subscribe("pods", (e) => {
          const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
          if (e.type === "deleted") {
            expect(mirror.has(key)).toBe(true);
            mirror.delete(key);
          } else {
            expect(mirror.has(key)).toBe(e.type === "modified");
            const rv = Number(e.object.metadata.resourceVersion);
            expect(rv).toBeGreaterThan(lastRv);
            lastRv = rv;
            mirror.set(key, e.object);
          }
        });
        for (const o of ops) {
          if (o.remove) cluster.remove("pods", o.ns, o.name);
          else cluster.apply("pods", pod(o.ns, o.name, o.node));
        }
        expect([...mirror.values()].sort((x, y) => x.metadata.uid!.localeCompare(y.metadata.uid!))).toEqual(
          [...cluster.list("pods")].sort((x, y) => x.metadata.uid!.localeCompare(y.metadata.uid!)),
        );
      }),
      { numRuns: 150 },
    );
  });
});

describe("FakeCluster writer (AzureAssignedIdentity)", () => {
  it("create stores with finalizer and status, and rejects duplicates and client resourceVersions", async () => {
    const cluster = new FakeCluster();
    const created = await cluster.create(aai("x"));
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    expect(created.value.status).toBe("Created");
    expect(created.value.metadata.finalizers).toEqual([ASSIGNED_IDENTITY_FINALIZER]);
    expect(created.value.metadata.resourceVersion).toBeDefined();
    expect(cluster.get("azureassignedidentities", "default", "x")).toEqual(created.value);

    const again = await cluster.create(aai("x"));
    expect(again.ok ? undefined : again.error).toMatchObject({ kind: "conflict", alreadyExists: true });
    const withRv = await cluster.create({ ...aai("y"), metadata: { ...aai("y").metadata, resourceVersion: "5" } });
    expect(withRv.ok ? undefined : withRv.error.kind).toBe("invalid");
    expect(cluster.writeCounts()).toMatchObject({ creates: 3, failures: 2, apiRequests: 1 });
  });

  it("update and setStatus enforce resourceVersion and keep what they must", async () => {
    const cluster = new FakeCluster();
    const created = await cluster.create(aai("x"));
    if (!created.ok) throw new Error("create failed");
    const assigned = await cluster.setStatus(created.value, "Assigned");
    if (!assigned.ok) throw new Error("setStatus failed");
    expect(assigned.value.status).toBe("Assigned");

    // stale: created.value's resourceVersion predates the status write
    const stale = await cluster.update({ ...created.value, spec: { ...created.value.spec, nodeName: "node-b" } });
    expect(stale.ok ? undefined : stale.error).toMatchObject({ kind: "conflict", alreadyExists: false });
    const staleStatus = await cluster.setStatus(created.value, "Unassigned");
    expect(staleStatus.ok ? undefined : staleStatus.error.kind).toBe("conflict");

    const moved = await cluster.update({
      ...assigned.value,
      metadata: { ...assigned.value.metadata, labels: { nodename: "node-b" } },
      spec: { ...assigned.value.spec, nodeName: "node-b" },
      status: "Created",
    });
    if (!moved.ok) throw new Error("update failed");
    expect(moved.value.status).toBe("Assigned"); // update never writes status
    expect(moved.value.metadata.labels).toEqual({ nodename: "node-b" });
    expect(moved.value.metadata.uid).toBe(created.value.metadata.uid);
    expect(moved.value.metadata.generation).toBe(2);

    // no resourceVersion = unconditional
    const { resourceVersion: _rv, ...noRv } = moved.value.metadata;
    const unconditional = await cluster.setStatus({ ...moved.value, metadata: noRv }, "Unassigned");
    expect(unconditional.ok).toBe(true);

    const missing = await cluster.update(aai("nope"));
    expect(missing.ok ? undefined : missing.error.kind).toBe("notFound");
    expect(cluster.writeCounts()).toMatchObject({ creates: 1, updates: 3, statusUpdates: 3, failures: 3 });
  });

  it("delete removes the finalizer so the object goes; watchers see modified then deleted; missing is ok", async () => {
    const cluster = new FakeCluster();
    const events: string[] = [];
    cluster.subscribe("azureassignedidentities", (e) =>
      events.push(`${e.type}:${e.object.metadata.finalizers.length}:${e.object.metadata.deletionTimestamp !== undefined}`),
    );
    const created = await cluster.create(aai("x"));
    if (!created.ok) throw new Error("create failed");
    const removed = await cluster.delete(created.value);
    expect(removed.ok).toBe(true);
    expect(cluster.get("azureassignedidentities", "default", "x")).toBeUndefined();
    expect(events).toEqual(["added:1:false", "modified:1:true", "deleted:0:true"]);
    const again = await cluster.delete(created.value);
    expect(again.ok).toBe(true);
    expect(cluster.writeLog.map((l) => [l.op, l.outcome, l.existed])).toEqual([
      ["create", "ok", undefined],
      ["delete", "ok", true],
      ["delete", "ok", false],
    ]);
    expect(cluster.writeCounts().apiRequests).toBe(1 + 2 + 1);
  });

  it("an update that drops the last finalizer of a terminating object deletes it", async () => {
    const cluster = new FakeCluster();
    const created = await cluster.create(aai("x"));
    if (!created.ok) throw new Error("create failed");
    cluster.requestDeletion("azureassignedidentities", "default", "x");
    const terminating = cluster.get("azureassignedidentities", "default", "x");
    if (terminating === undefined) throw new Error("gone too early");
    const result = await cluster.update({ ...terminating, metadata: { ...terminating.metadata, finalizers: [] } });
    expect(result.ok).toBe(true);
    expect(cluster.get("azureassignedidentities", "default", "x")).toBeUndefined();
  });

  it("fault injection: failNextWrites then predicates, both logged and counted", async () => {
    const cluster = new FakeCluster();
    cluster.failNextWrites(2, { kind: "throttled", retryAfterMs: 1000, message: "slow down" });
    const stop = cluster.injectWriteFault((op, obj) =>
      op === "create" && obj.metadata.name === "bad" ? { kind: "forbidden", message: "no" } : undefined,
    );
    const r1 = await cluster.create(aai("a"));
    const r2 = await cluster.create(aai("a"));
    const r3 = await cluster.create(aai("a"));
    const r4 = await cluster.create(aai("bad"));
    stop();
    const r5 = await cluster.create(aai("bad"));
    expect([r1, r2, r3, r4, r5].map((r) => (r.ok ? "ok" : r.error.kind))).toEqual(["throttled", "throttled", "ok", "forbidden", "ok"]);
    expect(cluster.writeLog.map((l) => l.outcome)).toEqual(["throttled", "throttled", "ok", "forbidden", "ok"]);
    expect(cluster.writeCounts()).toMatchObject({ creates: 5, failures: 3 });
    cluster.resetCounters();
    expect(cluster.writeCounts().creates).toBe(0);
    expect(cluster.writeLog).toEqual([]);
  });
});
