/**
 * `podid explain pod` against the fake kube-apiserver over real HTTP (the CLI's client-node requests), one
 * golden text file per verdict. Objects are created as users and MIC create them: the example manifests of
 * `examples/demo` applied as YAML, AzureAssignedIdentities built by core the way MIC builds them, statuses
 * and `binding …` Events as MIC records them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { identityKey, parseProviderId } from "@podid/core";
import { FakeCompute } from "@podid/testkit";
import { expectGolden } from "../test-support/golden.js";
import { ExplainWorld, identityId, scaleSetProviderId } from "../test-support/explain-world.js";
import type { PodExplanation } from "./explanation-types.js";

const DEMO_ID = "/subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-kv-reader";

let world: ExplainWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The demo's identity and binding (legacy PascalCase manifests), node 1 of the scale set, and the demo pod on it. */
async function demo(label = "demo-kv-access"): Promise<ExplainWorld> {
  world = await ExplainWorld.start();
  world.applyFile("examples/demo/identity.yaml");
  world.applyFile("examples/demo/binding.yaml");
  const node = world.node(1);
  world.pod("default", "demo-app", { aadpodidbinding: label, app: "demo" }, node, "10.244.1.7", {
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "demo-app-5d8f7c", uid: "1b1e2f3a-0000-4000-8000-000000000001", controller: true }],
  });
  return world;
}

/** A compute port that reports the demo scale set with the given user-assigned identities. */
function computeWith(ids: readonly string[]): FakeCompute {
  const compute = new FakeCompute();
  const parsed = parseProviderId(scaleSetProviderId(1));
  if (!parsed.ok) throw new Error("bad providerID");
  compute.add(parsed.value.target, { systemAssigned: true, userAssigned: [...ids] });
  return compute;
}

describe("podid explain pod (verdict goldens)", () => {
  it("assigned: the demo pod with its AzureAssignedIdentity Assigned and MIC's Event", async () => {
    const w = await demo();
    const aai = w.assigned("default", "demo-app", "default", "demo-kv-reader", "Assigned");
    w.event({ kind: "AzureIdentityBinding", namespace: "default", name: "demo-kv-reader-binding" }, "Normal", "binding applied", `identity default/demo-kv-reader assigned to node aks-demo-12345678-vmss000001 for pod default/demo-app`, "2024-05-01T11:59:40Z");
    expect(aai).toBe("default/demo-app-default-demo-kv-reader");
    const run = await w.run(["explain", "pod", "demo-app", "-n", "default"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expectGolden("explain-pod-assigned.txt", run.stdout);
  });

  it("assigned, checked in ARM with --cloudconfig (the identity is on the scale set)", async () => {
    const w = await demo();
    w.assigned("default", "demo-app", "default", "demo-kv-reader", "Assigned");
    const compute = computeWith([DEMO_ID]);
    const run = await w.run(["explain", "pod", "demo-app", "--cloudconfig", "/etc/kubernetes/azure.json"], { openCompute: async () => compute });
    expect(run.code).toBe(0);
    expectGolden("explain-pod-assigned-cloud.txt", run.stdout);
  });

  it("not attached: Assigned, but ARM shows the identity was removed from the scale set (#633)", async () => {
    const w = await demo();
    w.assigned("default", "demo-app", "default", "demo-kv-reader", "Assigned");
    const run = await w.run(["explain", "pod", "demo-app", "--cloudconfig", "azure.json"], { openCompute: async () => computeWith([]) });
    expect(run.code, "a problem verdict exits 2").toBe(2);
    expectGolden("explain-pod-not-attached.txt", run.stdout);
  });

  it("label typo: aadpodidbinding=demo-kv-acess while the binding selects demo-kv-access", async () => {
    const w = await demo("demo-kv-acess");
    const run = await w.run(["explain", "pod", "demo-app", "-n", "default"]);
    expect(run.code, "a problem verdict exits 2").toBe(2);
    expectGolden("explain-pod-label-typo.txt", run.stdout);
  });

  it("namespace mismatch: a namespaced identity in default used by a pod in team-a", async () => {
    world = await ExplainWorld.start();
    const w = world;
    w.identity("default", "reader", { annotations: { "aadpodidentity.k8s.io/Behavior": "namespaced" } });
    w.binding("default", "reader-binding", "reader", "reader");
    w.pod("team-a", "app", { aadpodidbinding: "reader" }, w.node(0));
    const run = await w.run(["explain", "pod", "app", "-n", "team-a"]);
    expectGolden("explain-pod-namespace-mismatch.txt", run.stdout);
  });

  it("namespace mismatch with --forceNamespaced (global flag), JSON output typed", async () => {
    world = await ExplainWorld.start();
    const w = world;
    w.identity("default", "reader");
    w.binding("default", "reader-binding", "reader", "reader");
    w.pod("team-a", "app", { aadpodidbinding: "reader" }, w.node(0));
    const plain = await w.run(["explain", "pod", "app", "-n", "team-a", "-o", "json"]);
    const forced = await w.run(["explain", "pod", "app", "-n", "team-a", "-o", "json", "--forceNamespaced"]);
    const plainJson = JSON.parse(plain.stdout) as PodExplanation;
    const forcedJson = JSON.parse(forced.stdout) as PodExplanation;
    expect(plainJson.verdicts.map((v) => v.kind)).toEqual(["waiting for MIC"]);
    expect(plain.code, "waiting for MIC is pending, not a problem").toBe(0);
    expect(forced.code, "namespace mismatch is a problem").toBe(2);
    expect(forcedJson.forceNamespaced).toBe(true);
    expect(forcedJson.verdicts).toEqual([
      {
        kind: "namespace mismatch",
        identity: "default/reader",
        message: "identity default/reader is namespaced (--forceNamespaced): pod team-a/app, binding default/reader-binding and identity default/reader must share one namespace",
        fix: "create the AzureIdentity and its AzureIdentityBinding in namespace team-a",
      },
    ]);
    expect(forcedJson.identities[0]?.namespaced).toEqual({ global: true, annotation: false });
  });

  it("identity missing: the binding names an AzureIdentity that does not exist in its namespace", async () => {
    world = await ExplainWorld.start();
    const w = world;
    w.identity("team-a", "reader");
    w.binding("default", "reader-binding", "reader", "reader");
    w.pod("default", "app", { aadpodidbinding: "reader" }, w.node(0));
    const run = await w.run(["explain", "pod", "app"]);
    expectGolden("explain-pod-identity-missing.txt", run.stdout);
  });

  it("invalid resourceID: the identity's resourceID is not a user-assigned identity id", async () => {
    world = await ExplainWorld.start();
    const w = world;
    w.identity("default", "reader", { resourceID: "/subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/identities/reader" });
    w.binding("default", "reader-binding", "reader", "reader");
    w.pod("default", "app", { aadpodidbinding: "reader" }, w.node(0));
    const run = await w.run(["explain", "pod", "app"]);
    expectGolden("explain-pod-invalid-resource-id.txt", run.stdout);
  });

  it("exception: an AzurePodIdentityException in the pod's namespace matches one label ignoring case", async () => {
    const w = await demo();
    w.put({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzurePodIdentityException", metadata: { name: "demo-exception", namespace: "default" }, spec: { podLabels: { app: "DEMO", tier: "db" } } });
    w.assigned("default", "demo-app", "default", "demo-kv-reader", "Assigned");
    const run = await w.run(["explain", "pod", "demo-app"]);
    expectGolden("explain-pod-exception.txt", run.stdout);
  });

  it("quarantined: Created, and MIC recorded that ARM refused the identity (LinkedAuthorizationFailed)", async () => {
    const w = await demo();
    w.assigned("default", "demo-app", "default", "demo-kv-reader", "Created");
    w.event(
      { kind: "AzureIdentityBinding", namespace: "default", name: "demo-kv-reader-binding" },
      "Warning",
      "binding apply error",
      `identity default/demo-kv-reader not assigned to node aks-demo-12345678-vmss000001: LinkedAuthorizationFailed: The client 'mic' has permission to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' on scope 'aks-demo-12345678-vmss'; however, it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${DEMO_ID}'`,
      "2024-05-01T11:59:30Z",
      3,
    );
    const run = await w.run(["explain", "pod", "demo-app"]);
    expectGolden("explain-pod-quarantined.txt", run.stdout);
  });

  it("quarantined: MIC's own wording when the retry without the identity succeeded", async () => {
    const w = await demo();
    w.assigned("default", "demo-app", "default", "demo-kv-reader", "Created");
    w.event({ kind: "AzureIdentityBinding", namespace: "default", name: "demo-kv-reader-binding" }, "Warning", "binding apply error", "identity default/demo-kv-reader not assigned to node aks-demo-12345678-vmss000001: identity refused by ARM and quarantined", "2024-05-01T11:59:30Z");
    const run = await w.run(["explain", "pod", "demo-app", "-o", "json"]);
    const json = JSON.parse(run.stdout) as PodExplanation;
    expect(json.verdicts[0]?.kind).toBe("quarantined");
    expect(json.verdicts[0]?.fix).toContain(`az identity show --ids ${DEMO_ID}`);
    expect(json.nmi.outcome).toContain("waits");
  });

  it("waiting for MIC: Created a minute ago, no error recorded", async () => {
    const w = await demo();
    w.assigned("default", "demo-app", "default", "demo-kv-reader", "Created");
    const run = await w.run(["explain", "pod", "demo-app"]);
    expectGolden("explain-pod-waiting.txt", run.stdout);
  });

  it("no AzureAssignedIdentity at all: MIC has not processed the pod (the 404 after 80 s)", async () => {
    const w = await demo();
    const run = await w.run(["explain", "pod", "demo-app", "-o", "json"]);
    const json = JSON.parse(run.stdout) as PodExplanation;
    expect(json.verdicts.map((v) => v.kind)).toEqual(["waiting for MIC"]);
    expect(json.verdicts[0]?.message).toContain("no AzureAssignedIdentity default/demo-app-default-demo-kv-reader yet");
    expect(json.nmi.outcome).toContain("404");
  });

  it("not scheduled: a Pending pod without a node gets nothing yet", async () => {
    world = await ExplainWorld.start();
    world.identity("default", "reader");
    world.binding("default", "reader-binding", "reader", "reader");
    world.pod("default", "pending", { aadpodidbinding: "reader" }, undefined);
    const json = JSON.parse((await world.run(["explain", "pod", "pending", "-o", "json"])).stdout) as PodExplanation;
    expect(json.node).toBeNull();
    expect(json.verdicts).toEqual([
      { kind: "not scheduled", identity: "default/reader", message: "pod has no node yet: MIC assigns default/reader once it is scheduled", fix: "kubectl describe pod pending -n default (why is it not scheduled?)" },
    ]);
  });

  it("label key typo and no label", async () => {
    world = await ExplainWorld.start();
    const w = world;
    w.identity("default", "reader");
    w.binding("default", "reader-binding", "reader", "reader");
    w.pod("default", "typo", { aadPodIdBinding: "reader" }, w.node(0));
    w.pod("default", "bare", { app: "web" }, w.node(0), "10.244.1.8");
    const typo = JSON.parse((await w.run(["explain", "pod", "typo", "-o", "json"])).stdout) as PodExplanation;
    expect(typo.verdicts).toEqual([
      {
        kind: "label key typo",
        message: "pod has label aadPodIdBinding=reader, but bindings select pods by the label key aadpodidbinding",
        fix: "kubectl label pod typo -n default aadpodidbinding=reader --overwrite; then kubectl label pod typo -n default aadPodIdBinding-",
      },
    ]);
    const bare = JSON.parse((await w.run(["explain", "pod", "bare", "-o", "json"])).stdout) as PodExplanation;
    expect(bare.verdicts.map((v) => v.kind)).toEqual(["no label"]);
    expect(bare.verdicts[0]?.message).toContain("selectors in use: reader");
  });

  it("managed mode: NMI grants the identity from bindings in the pod's namespace; ARM says it is not attached", async () => {
    const w = await demo();
    const run = await w.run(["explain", "pod", "demo-app", "--mode", "managed", "--cloudconfig", "azure.json", "-o", "json"], { openCompute: async () => computeWith([identityId("other")]) });
    const json = JSON.parse(run.stdout) as PodExplanation;
    expect(json.mode).toBe("managed");
    expect(json.nmi.identity).toBe("default/demo-kv-reader");
    expect(json.verdicts.map((v) => v.kind)).toEqual(["not attached"]);
    expect(json.verdicts[0]?.fix).toBe(`az vmss identity assign -g MC_demo_podid_westeurope -n aks-demo-12345678-vmss --identities ${DEMO_ID}`);
    expect(json.node?.cloud?.attached).toEqual([identityKey(identityId("other"))]);
  });
});
