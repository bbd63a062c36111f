import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ASSIGNED_IDENTITY_FINALIZER,
  METRIC,
  parseAzureAssignedIdentity,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
} from "@podid/core";
import { FakeKubeApiServer, RecordingMetrics, azureAssignedIdentityArb, type KubeObject } from "@podid/testkit";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { createBody } from "./assigned-identity-body.js";
import { KubeAssignedIdentityWriter } from "./kube-assigned-identity-writer.js";

const CRDS = readFileSync(new URL("../../../../deploy/crds.yaml", import.meta.url), "utf8");
const AAI = "azureassignedidentities";

/** The stored object without what the API server adds (uid, resourceVersion, timestamps, generation). */
function withoutServerFields(stored: KubeObject | undefined): unknown {
  if (stored === undefined) return undefined;
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, generation: _g, ...metadata } = stored.metadata;
  return { ...stored, metadata };
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const identity: AzureIdentity = {
  kind: "AzureIdentity",
  metadata: { name: "reader", namespace: "team-a", resourceVersion: "17", uid: "id-uid", labels: {}, annotations: {}, finalizers: [] },
  spec: {
    type: 0,
    resourceID: "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader",
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
  metadata: { name: "reader-binding", namespace: "team-a", resourceVersion: "18", labels: {}, annotations: {}, finalizers: [] },
  spec: { azureIdentity: "reader", selector: "reader" },
};
const assigned: AzureAssignedIdentity = {
  kind: "AzureAssignedIdentity",
  metadata: { name: "web-0-team-a-reader", namespace: "default", labels: { nodename: "aks-node-0" }, annotations: {}, finalizers: [] },
  spec: { azureIdentityRef: identity, azureBindingRef: binding, pod: "web-0", podNamespace: "team-a", nodeName: "aks-node-0" },
  status: "Created",
};

describe("KubeAssignedIdentityWriter against the fake kube-apiserver", () => {
  let server: FakeKubeApiServer;
  let client: KubeClient;

  beforeAll(async () => {
    server = await FakeKubeApiServer.start();
    server.applyManifests(CRDS);
    client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
  });
  afterAll(async () => {
    await server.close();
  });

  it("writes exactly the original MIC's wire format", async () => {
    const writer = new KubeAssignedIdentityWriter({ client });
    const created = await writer.create(assigned);
    expect(created.ok).toBe(true);
    // The document the original MIC stored (docs/compatibility.md#azureassignedidentity-objects), field by field.
    expect(withoutServerFields(server.store.get(AAI, "web-0-team-a-reader", "default"))).toEqual({
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureAssignedIdentity",
      metadata: {
        name: "web-0-team-a-reader",
        namespace: "default",
        labels: { nodename: "aks-node-0" },
        finalizers: ["azureassignedidentity.finalizers.aadpodidentity.k8s.io"],
      },
      spec: {
        azureIdentityRef: {
          apiVersion: "aadpodidentity.k8s.io/v1",
          kind: "AzureIdentity",
          metadata: { name: "reader", namespace: "team-a", uid: "id-uid", resourceVersion: "17" },
          spec: {
            type: 0,
            resourceID: identity.spec.resourceID,
            clientID: identity.spec.clientID,
            clientPassword: {},
            tenantID: "",
            auxiliaryTenantIDs: [],
            adEndpoint: "",
            adResourceID: "",
          },
        },
        azureBindingRef: {
          apiVersion: "aadpodidentity.k8s.io/v1",
          kind: "AzureIdentityBinding",
          metadata: { name: "reader-binding", namespace: "team-a", resourceVersion: "18" },
          spec: { azureIdentity: "reader", selector: "reader" },
        },
        pod: "web-0",
        podNamespace: "team-a",
        nodename: "aks-node-0",
      },
      status: { status: "Created", availableReplicas: 1 },
    });
    expect(await writer.setStatus(assigned, "Assigned")).toMatchObject({ ok: true, value: { status: "Assigned" } });
    expect(server.store.get(AAI, "web-0-team-a-reader", "default")?.["status"]).toEqual({ status: "Assigned", availableReplicas: 1 });
    expect(await writer.delete(assigned)).toEqual({ ok: true, value: undefined });
    expect(server.store.get(AAI, "web-0-team-a-reader", "default")).toBeUndefined();
    expect(await writer.delete(assigned)).toEqual({ ok: true, value: undefined });
    // setStatus used a merge patch on the main resource (no status subresource).
    expect(server.requests.some((r) => r.method === "PATCH" && r.path === "/apis/aadpodidentity.k8s.io/v1/namespaces/default/azureassignedidentities/web-0-team-a-reader")).toBe(true);
  });

  it("(d) create → Assigned → delete survives injected 409s and 429s, and stores the wire format (property)", async () => {
    const metrics = new RecordingMetrics();
    const writer = new KubeAssignedIdentityWriter({ client, metrics, throttle: { maxRetries: 3, maxWaitMs: 1000 } });
    const fault = fc.record({ conflicts: fc.integer({ min: 0, max: 4 }), throttled: fc.integer({ min: 0, max: 1 }) });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(azureAssignedIdentityArb({ statuses: ["Created"] }), fault, fault, fault, async (aai, onCreate, onStatus, onDelete) => {
        runs++;
        server.store.remove(AAI, aai.metadata.name, aai.metadata.namespace);
        const inject = (f: { conflicts: number; throttled: number }): void => {
          if (f.throttled > 0) server.failNextWrites(f.throttled, 429, { resource: AAI, retryAfterSeconds: 0 });
          if (f.conflicts > 0) server.failNextWrites(f.conflicts, 409, { resource: AAI });
        };
        inject(onCreate);
        const created = await writer.create(aai);
        expect(created.ok).toBe(true);
        expect(server.pendingWriteFailures).toBe(0);
        const stored = server.store.get(AAI, aai.metadata.name, aai.metadata.namespace);
        expect(withoutServerFields(stored)).toEqual(json(createBody(aai)));
        const reparsed = parseAzureAssignedIdentity(stored);
        expect(reparsed.ok && reparsed.value.spec).toEqual(aai.spec);

        inject(onStatus);
        const assignedNow = await writer.setStatus(aai, "Assigned");
        expect(assignedNow.ok && assignedNow.value.status).toBe("Assigned");
        const afterStatus = server.store.get(AAI, aai.metadata.name, aai.metadata.namespace);
        expect(withoutServerFields(afterStatus)).toEqual({ ...(json(createBody(aai)) as object), status: { status: "Assigned", availableReplicas: 1 } });

        inject(onDelete);
        expect(await writer.delete(aai)).toEqual({ ok: true, value: undefined });
        expect(server.store.get(AAI, aai.metadata.name, aai.metadata.namespace)).toBeUndefined();
        expect(server.pendingWriteFailures).toBe(0);
      }),
      { numRuns: 25 },
    );
    expect(metrics.counter(METRIC.assignedIdentityAdditionCount)).toBe(runs);
    expect(metrics.counter(METRIC.assignedIdentityDeletionCount)).toBe(runs);
    expect(metrics.histogram(METRIC.assignedIdentityAdditionDuration)).toHaveLength(runs);
  }, 30_000);

  it("gives up with a conflict after the retry budget, counting the error metric", async () => {
    const metrics = new RecordingMetrics();
    const writer = new KubeAssignedIdentityWriter({ client, metrics, maxConflictRetries: 2 });
    server.failNextWrites(3, 409, { resource: AAI });
    const result = await writer.create({ ...assigned, metadata: { ...assigned.metadata, name: "budget" } });
    expect(result).toMatchObject({ ok: false, error: { kind: "conflict" } });
    expect(metrics.counter(METRIC.kubernetesApiOperationsErrorsCount, { operation_type: "assigned_identity_addition" })).toBe(1);
    expect(server.store.get(AAI, "budget", "default")).toBeUndefined();
  });

  it("a create that meets its own earlier write succeeds; a different assignment under the name is a conflict", async () => {
    const writer = new KubeAssignedIdentityWriter({ client });
    const mine = { ...assigned, metadata: { ...assigned.metadata, name: "lost-answer" } };
    server.store.upsert(json({ ...createBody(mine), status: { status: "Assigned", availableReplicas: 1 } }) as KubeObject);
    const again = await writer.create(mine);
    expect(again).toMatchObject({ ok: true, value: { status: "Assigned", metadata: { name: "lost-answer" } } });
    const other = { ...mine, spec: { ...mine.spec, pod: "web-1" } };
    expect(await writer.create(other)).toMatchObject({ ok: false, error: { kind: "conflict", alreadyExists: true } });
  });

  it("update re-applies spec and labels to fresh state after a conflict, keeping status and others' labels", async () => {
    const writer = new KubeAssignedIdentityWriter({ client });
    const original = { ...assigned, metadata: { ...assigned.metadata, name: "moving" } };
    const created = await writer.create(original);
    if (!created.ok) throw new Error(created.error.message);
    expect((await writer.setStatus(created.value, "Assigned")).ok).toBe(true);
    // Someone else labels the object after our read: our resourceVersion is stale now.
    const stored = server.store.get(AAI, "moving", "default")!;
    server.store.upsert({ ...stored, metadata: { ...stored.metadata, labels: { ...(stored.metadata["labels"] as object), team: "a" } } });
    const moved: AzureAssignedIdentity = {
      ...created.value,
      metadata: { ...created.value.metadata, labels: { nodename: "aks-node-9" } },
      spec: { ...created.value.spec, nodeName: "aks-node-9" },
    };
    const updated = await writer.update(moved);
    expect(updated).toMatchObject({ ok: true, value: { status: "Assigned", spec: { nodeName: "aks-node-9" } } });
    const after = server.store.get(AAI, "moving", "default")!;
    expect(after.metadata["labels"]).toEqual({ nodename: "aks-node-9", team: "a" });
    expect(after.metadata["finalizers"]).toEqual([ASSIGNED_IDENTITY_FINALIZER]);
    expect(after["status"]).toEqual({ status: "Assigned", availableReplicas: 1 });
    expect((after["spec"] as { nodename: string }).nodename).toBe("aks-node-9");
    // A vanished object is notFound, not success.
    server.store.remove(AAI, "moving", "default");
    expect(await writer.update(moved)).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(await writer.setStatus(moved, "Unassigned")).toMatchObject({ ok: false, error: { kind: "notFound" } });
  });

  it("delete removes the finalizer of an object someone else already deleted (Terminating)", async () => {
    const writer = new KubeAssignedIdentityWriter({ client });
    const doomed = { ...assigned, metadata: { ...assigned.metadata, name: "terminating" } };
    expect((await writer.create(doomed)).ok).toBe(true);
    await client.request({ method: "DELETE", path: `/apis/aadpodidentity.k8s.io/v1/namespaces/default/${AAI}/terminating` });
    expect(server.store.get(AAI, "terminating", "default")?.metadata["deletionTimestamp"]).toBeDefined();
    server.failNextWrites(2, 409, { resource: AAI });
    expect(await writer.delete(doomed)).toEqual({ ok: true, value: undefined });
    expect(server.store.get(AAI, "terminating", "default")).toBeUndefined();
  });
});
