/**
 * `podid explain identity` against the fake kube-apiserver over real HTTP: which pods use an identity, on
 * which nodes and scale sets, in which AzureAssignedIdentity state, with the near misses and stale objects.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseProviderId } from "@podid/core";
import { FakeCompute } from "@podid/testkit";
import { expectGolden } from "../test-support/golden.js";
import { ExplainWorld, identityId, scaleSetProviderId } from "../test-support/explain-world.js";
import type { IdentityExplanation } from "./explanation-types.js";

let world: ExplainWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function cluster(): Promise<ExplainWorld> {
  world = await ExplainWorld.start();
  const w = world;
  w.identity("default", "reader");
  w.binding("default", "reader-binding", "reader", "reader");
  const n0 = w.node(0);
  const n1 = w.node(1);
  w.pod("default", "web-0", { aadpodidbinding: "reader" }, n0, "10.244.0.10");
  w.pod("team-a", "web-1", { aadpodidbinding: "reader" }, n1, "10.244.1.11");
  w.pod("default", "web-2", { aadpodidbinding: "Reader" }, n1, "10.244.1.12");
  w.pod("default", "pending", { aadpodidbinding: "reader" }, undefined);
  w.assigned("default", "web-0", "default", "reader", "Assigned");
  w.assigned("team-a", "web-1", "default", "reader", "Created");
  // An object left from a pod that has gone: MIC removes it on its next pass.
  w.pod("default", "gone", { aadpodidbinding: "reader" }, n0, "10.244.0.13");
  w.assigned("default", "gone", "default", "reader", "Assigned");
  w.server.store.remove("pods", "gone", "default");
  return w;
}

describe("podid explain identity", () => {
  it("lists the pods, their nodes and scale set, AzureAssignedIdentity states, near misses and stale objects", async () => {
    const w = await cluster();
    const run = await w.run(["explain", "identity", "reader", "-n", "default"]);
    expect(run.stderr).toBe("");
    expect(run.code, "a pod with a label typo is a problem verdict").toBe(2);
    expectGolden("explain-identity.txt", run.stdout);
  });

  it("with --cloudconfig reports the scale set's identities and a missing attachment", async () => {
    const w = await cluster();
    const compute = new FakeCompute();
    const parsed = parseProviderId(scaleSetProviderId(0));
    if (!parsed.ok) throw new Error("bad providerID");
    compute.add(parsed.value.target, { systemAssigned: true, userAssigned: [identityId("kubelet")] });
    const run = await w.run(["explain", "identity", "reader", "-o", "json", "--cloudconfig", "azure.json"], { openCompute: async () => compute });
    const json = JSON.parse(run.stdout) as IdentityExplanation;
    expect(json.targets).toHaveLength(1);
    expect(json.targets[0]).toMatchObject({ kind: "vmss", name: "aks-demo-12345678-vmss", pods: 2, attached: false });
    expect(json.verdicts.map((v) => v.kind)).toEqual(["waiting for MIC", "label typo", "not attached"]);
    expect(json.stale).toEqual([{ namespace: "default", name: "gone-default-reader", status: "Assigned", pod: "default/gone" }]);
  });

  it("an identity nobody binds, and an unknown one with a hint to the namespace that has it", async () => {
    world = await ExplainWorld.start();
    world.identity("team-a", "lonely");
    const lonely = JSON.parse((await world.run(["explain", "identity", "lonely", "-n", "team-a", "-o", "json"])).stdout) as IdentityExplanation;
    expect(lonely.verdicts.map((v) => v.kind)).toEqual(["no binding"]);
    expect((await world.run(["explain", "identity", "lonely", "-n", "team-a"])).code, "no binding is a problem").toBe(2);
    const missing = await world.run(["explain", "identity", "lonely", "-n", "default"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("podid: AzureIdentity default/lonely not found\n  → an AzureIdentity named lonely exists in namespace team-a: use -n team-a\n");
  });
});
