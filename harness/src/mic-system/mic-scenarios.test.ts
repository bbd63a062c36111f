import { describe, expect, it } from "vitest";
import { httpGet, SUBSCRIPTION, until } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * The original's end-to-end scenario catalogue (docs/compatibility.md#end-to-end-scenario-catalogue) against
 * MIC composed from its flags, over real HTTP: the fake kube-apiserver with the CRDs, the fake ARM with the
 * real `@azure/arm-compute` client and tokens from the fake AAD through azure.json. Every test ends by
 * checking the converged state: each desired (pod, identity) pair has an `Assigned` AzureAssignedIdentity and
 * each VM/VMSS carries exactly the identities its pods need plus the ones MIC must leave alone.
 */

const worlds = worldPerTest();

describe("MIC system scenarios (docs/compatibility.md#end-to-end-scenario-catalogue)", { timeout: 40_000 }, () => {
  it("single identity: assigns it to the scale set, records Events, and detaches it when the pod is deleted", async () => {
    const { w } = await worlds.startLed();
    const id = w.identity("app-identity");
    w.binding("app-binding", "app-identity", "app");
    w.pod("app-0", "app", w.nodes[0] ?? "");
    await w.converged();
    expect(w.attached()).toContain(w.key(id));
    const [aai] = w.assigned();
    expect(aai?.metadata.name).toBe("app-0-default-app-identity");
    expect(aai?.metadata.labels["nodename"]).toBe(w.nodes[0]);
    expect(aai?.metadata.finalizers).toContain("azureassignedidentity.finalizers.aadpodidentity.k8s.io");
    await until("Event binding applied", () => w.events("app-binding").some((e) => e["reason"] === "binding applied"));

    w.deletePod("app-0");
    await w.converged();
    expect(w.assigned()).toEqual([]);
    expect(w.attached()).not.toContain(w.key(id));
    expect(w.compute.identitiesOf(w.scaleSet)?.type).toBe("SystemAssigned, UserAssigned");
  });

  it("accepts the seeds' legacy PascalCase manifests (type 0, ResourceID, ClientID, AzureIdentity, Selector)", async () => {
    const { w } = await worlds.startLed();
    const id = w.identity("demo-kv", { legacyFields: true });
    w.kube.store.upsert({
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureIdentityBinding",
      metadata: { name: "demo-kv-binding", namespace: "default" },
      spec: { AzureIdentity: "demo-kv", Selector: "demo-kv-access" },
    });
    w.pod("demo", "demo-kv-access", w.nodes[1] ?? "");
    await w.converged();
    expect(w.attached()).toContain(w.key(id));
  });

  it("identity deleted / binding deleted: the AAIs go and the identity is detached while the pods keep running", async () => {
    const { w } = await worlds.startLed();
    const a = w.identity("id-a");
    const b = w.identity("id-b");
    w.binding("bind-a", "id-a", "sel-a");
    w.binding("bind-b", "id-b", "sel-b");
    w.pod("pod-a", "sel-a", w.nodes[0] ?? "");
    w.pod("pod-b", "sel-b", w.nodes[1] ?? "");
    await w.converged();
    expect(w.attached()).toEqual(expect.arrayContaining([w.key(a), w.key(b)]));

    w.delete("azureidentities", "id-a");
    await w.converged();
    expect(Object.keys(w.statuses())).toEqual(["pod-b-default-id-b"]);
    expect(w.attached()).not.toContain(w.key(a));

    w.delete("azureidentitybindings", "bind-b");
    await w.converged();
    expect(w.assigned()).toEqual([]);
    expect(w.attached()).not.toContain(w.key(b));
    expect(w.kube.store.get("pods", "pod-a")).toBeDefined();
  });

  it("identity edited in place: the AAI follows the new resource id, the old one is detached", async () => {
    const { w } = await worlds.startLed();
    const before = w.identity("swap", { azureName: "identity-one" });
    w.binding("swap-binding", "swap", "swap");
    w.pod("swapper", "swap", w.nodes[2] ?? "");
    await w.converged();
    expect(w.attached()).toContain(w.key(before));

    const after = w.identity("swap", { azureName: "identity-two" });
    await w.converged();
    expect(w.attached()).toContain(w.key(after));
    expect(w.attached()).not.toContain(w.key(before));
    const [aai] = w.assigned();
    expect(aai?.spec.azureIdentityRef.spec.resourceID).toBe(after.resourceID);
    expect(aai?.spec.azureIdentityRef.spec.clientID).toBe(after.clientID);
  });

  it("two identities on one pod (two bindings, one selector): both Assigned with their own client ids, both detached later", async () => {
    const { w } = await worlds.startLed();
    const reader = w.identity("kv-reader");
    const lister = w.identity("kv-lister");
    w.binding("reader-binding", "kv-reader", "multi");
    w.binding("lister-binding", "kv-lister", "multi");
    w.pod("multi", "multi", w.nodes[0] ?? "");
    await w.converged();
    const byIdentity = new Map(w.assigned().map((a) => [a.spec.azureIdentityRef.metadata.name, a.spec.azureIdentityRef.spec.clientID]));
    expect(byIdentity).toEqual(new Map([["kv-reader", reader.clientID], ["kv-lister", lister.clientID]]));
    expect(w.attached()).toEqual(expect.arrayContaining([w.key(reader), w.key(lister)]));

    w.deletePod("multi");
    await w.converged();
    expect(w.attached()).toEqual([w.key(w.clusterIdentity)]);
  });

  it("shared identity on one scale set: not removed while another pod on another instance still uses it", async () => {
    const { w } = await worlds.startLed();
    const shared = w.identity("shared");
    w.binding("shared-binding", "shared", "shared");
    w.pod("user-0", "shared", w.nodes[0] ?? "");
    w.pod("user-1", "shared", w.nodes[1] ?? "");
    await w.converged();
    const patchesBefore = w.compute.countsFor(w.scaleSet).patches;

    w.deletePod("user-0");
    await w.converged();
    expect(w.attached()).toContain(w.key(shared));
    expect(w.compute.countsFor(w.scaleSet).patches).toBe(patchesBefore);

    w.deletePod("user-1");
    await w.converged();
    expect(w.attached()).not.toContain(w.key(shared));
  });

  it("out-of-band removal is repaired by the drift pass, and the AAI stays Assigned", async () => {
    const { w } = await worlds.startLed({}, ["--identity-assignment-reconcile-interval=500ms"]);
    const id = w.identity("drifter");
    w.binding("drift-binding", "drifter", "drift");
    w.pod("drift", "drift", w.nodes[1] ?? "");
    await w.converged();

    w.compute.detachOutOfBand(w.scaleSet, w.key(id));
    expect(w.attached()).not.toContain(w.key(id));
    await until("re-attached", () => w.attached().includes(w.key(id)), 5_000);
    expect(w.statuses()).toEqual({ "drift-default-drifter": "Assigned" });
    await w.converged();
  });

  it("immutable identities (--immutable-user-msis) and the cluster identity from azure.json are never detached", async () => {
    const w = await worlds.start({ preAttached: [] });
    const pinned = w.identity("pinned");
    const mic = await w.startMic("mic-0", [`--immutable-user-msis=${pinned.clientID.toUpperCase()}, unrelated-client-id`]);
    await until("MIC leads", () => mic.runtime.isActive(), 5_000);
    // An AzureIdentity that points at the kubelet identity (the cluster identity, #1308).
    w.kube.store.upsert({
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureIdentity",
      metadata: { name: "kubelet", namespace: "default" },
      spec: { type: 0, resourceID: w.clusterIdentity.resourceID, clientID: w.clusterIdentity.clientID },
    });
    w.binding("pinned-binding", "pinned", "pinned");
    w.binding("kubelet-binding", "kubelet", "kubelet");
    w.pod("pinned", "pinned", w.nodes[0] ?? "");
    w.pod("kubelet-user", "kubelet", w.nodes[1] ?? "");
    await w.converged(w.keepOnScaleSet(pinned.resourceID));
    expect(w.attached()).toEqual([w.key(w.clusterIdentity), w.key(pinned)].sort());

    w.deletePod("pinned");
    w.deletePod("kubelet-user");
    await until("AAIs removed", () => w.assigned().length === 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(w.attached()).toEqual([w.key(w.clusterIdentity), w.key(pinned)].sort());
    await w.converged(w.keepOnScaleSet(pinned.resourceID));
  });

  it("a foreign identity and the system-assigned identity are left untouched", async () => {
    const theirs = `/subscriptions/${SUBSCRIPTION}/resourceGroups/other-team/providers/Microsoft.ManagedIdentity/userAssignedIdentities/their-identity`;
    const { w } = await worlds.startLed({ preAttached: [theirs] });
    const foreign = w.key(theirs);
    const keep = w.keepOnScaleSet(foreign);
    const id = w.identity("mine");
    w.binding("mine-binding", "mine", "mine");
    w.pod("mine", "mine", w.nodes[0] ?? "");
    await w.converged(keep);
    w.deletePod("mine");
    await until("mine detached", () => !w.attached().includes(w.key(id)));
    await w.converged(keep);
    expect(w.attached()).toContain(foreign);
    expect(w.compute.identitiesOf(w.scaleSet)?.type).toBe("SystemAssigned, UserAssigned");
    expect(w.compute.identitiesOf(w.scaleSet)?.systemAssignedPrincipalId).toBeDefined();
  });

  it("invalid identities in a batch: the valid ones land, the refused and the deleted stay Created with a Warning on their binding", async () => {
    const { w } = await worlds.startLed();
    const good = [w.identity("good-0"), w.identity("good-1")];
    const forbidden = w.identity("no-permission");
    const gone = w.identity("deleted-in-azure");
    w.compute.forbidIdentities([forbidden.resourceID]);
    w.arm.deleteIdentity(gone.resourceID);
    for (const name of ["good-0", "good-1", "no-permission", "deleted-in-azure"]) w.binding(`${name}-binding`, name, name);
    // All four arrive within one batch window on one scale set: one PATCH would carry them all.
    for (const [i, name] of ["good-0", "good-1", "no-permission", "deleted-in-azure"].entries()) w.pod(`p-${name}`, name, w.nodes[i % 3] ?? "");
    await until("valid identities Assigned", () => {
      const s = w.statuses();
      return s["p-good-0-default-good-0"] === "Assigned" && s["p-good-1-default-good-1"] === "Assigned";
    });
    await until("Warnings on the bad bindings", () =>
      ["no-permission-binding", "deleted-in-azure-binding"].every((b) => w.events(b).some((e) => e["type"] === "Warning" && e["reason"] === "binding apply error")),
    );
    const statuses = w.statuses();
    expect(statuses["p-no-permission-default-no-permission"]).toBe("Created");
    expect(statuses["p-deleted-in-azure-default-deleted-in-azure"]).toBe("Created");
    expect(w.attached()).toEqual(expect.arrayContaining(good.map((g) => w.key(g))));
    expect(w.attached()).not.toContain(w.key(forbidden));
    expect(w.attached()).not.toContain(w.key(gone));
    expect(w.arm.malformedPatches).toEqual([]);
  });

  it("label change: the pod's AAI moves to the newly selected identity and the old one is detached", async () => {
    const { w } = await worlds.startLed();
    const a = w.identity("blue");
    const b = w.identity("green");
    w.binding("blue-binding", "blue", "blue");
    w.binding("green-binding", "green", "green");
    w.pod("app", "blue", w.nodes[0] ?? "");
    await w.converged();
    expect(w.attached()).toContain(w.key(a));

    w.pod("app", "green", w.nodes[0] ?? "");
    await w.converged();
    expect(Object.keys(w.statuses())).toEqual(["app-default-green"]);
    expect(w.attached()).toContain(w.key(b));
    expect(w.attached()).not.toContain(w.key(a));
  });

  it("40 pods on a scale set and two VMs are Assigned quickly, with one or two PATCHes per VM/VMSS", async () => {
    const { w } = await worlds.startLed({ scaleSetNodes: 3, vmNodes: 2 }, ["--clientQps=200"]);
    for (let i = 0; i < 4; i++) {
      w.identity(`team-${i}`);
      w.binding(`team-${i}-binding`, `team-${i}`, `team-${i}`);
    }
    const started = Date.now();
    for (let i = 0; i < 40; i++) w.pod(`worker-${i}`, `team-${i % 4}`, w.nodes[i % w.nodes.length] ?? "", `ns-${i % 5}`);
    await w.converged(w.keepOnScaleSet(), 15_000);
    const took = Date.now() - started;
    expect(w.assigned()).toHaveLength(40);
    // The original's e2e SLO was 40 pods assigned within 150 s; on the fakes it is a few seconds at most.
    expect(took).toBeLessThan(10_000);
    for (const target of [w.scaleSet, ...w.vms]) expect(w.compute.countsFor(target).patches).toBeLessThanOrEqual(2);
  });

  it("leader change mid-flight: the leader stops while its PATCH runs, the standby takes over and finishes", async () => {
    const w = await worlds.start({ patchLatencyMs: 400 });
    const first = await w.startMic("mic-first");
    await until("first leads", () => first.runtime.isActive(), 5_000);
    const second = await w.startMic("mic-second");
    await until("second synced", () => second.runtime.isSynced(), 5_000);
    expect(second.runtime.isLeader()).toBe(false);
    expect((await httpGet(`${first.probeUrl}/healthz`)).body).toBe("Active");
    expect((await httpGet(`${second.probeUrl}/healthz`)).body).toBe("Not Active");

    for (let i = 0; i < 3; i++) {
      w.identity(`mid-${i}`);
      w.binding(`mid-${i}-binding`, `mid-${i}`, `mid-${i}`);
      w.pod(`mid-${i}`, `mid-${i}`, w.nodes[i] ?? "");
    }
    const operationsBefore = w.arm.counts().operations.started;
    await until("a PATCH in flight", () => w.arm.counts().operations.started > operationsBefore, 5_000);
    expect(Object.values(w.statuses()).every((s) => s === "Created")).toBe(true);
    await first.runtime.stop("test: leader goes away");
    expect(w.kube.store.get("leases.coordination.k8s.io", "aad-pod-identity-mic", "default")?.["spec"]).toMatchObject({ holderIdentity: "" });

    await until("second leads", () => second.runtime.isActive(), 5_000);
    await w.converged(w.keepOnScaleSet(), 15_000);
    expect((await httpGet(`${second.probeUrl}/healthz`)).body).toBe("Active");
    expect(w.kube.store.get("leases.coordination.k8s.io", "aad-pod-identity-mic", "default")?.["spec"]).toMatchObject({ holderIdentity: "mic-second" });
  });
});
