/**
 * `podid explain pod` verdicts for federated identities (type 3, docs/adr/0021-federated-identities.md), against
 * the fake kube-apiserver over real HTTP: a pod whose service account the identity does not trust, and a pod whose
 * AzureAssignedIdentity MIC left Created because the identity holds 20 federated credentials.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GROUP_VERSION } from "@podid/core";
import { ExplainWorld, identityId } from "../test-support/explain-world.js";
import type { PodExplanation } from "./explanation-types.js";

let world: ExplainWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function federatedWorld(podServiceAccount: string, podNamespace = "team-a"): Promise<ExplainWorld> {
  world = await ExplainWorld.start();
  const node = world.node(1);
  world.put({
    apiVersion: GROUP_VERSION,
    kind: "AzureIdentity",
    metadata: { name: "fed-reader", namespace: "team-a" },
    spec: { type: 3, resourceID: identityId("fed-reader"), clientID: "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e12", tenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", serviceAccounts: ["web"] },
  });
  world.binding("team-a", "fed-binding", "fed-reader", "fed");
  world.put({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app-0", namespace: podNamespace, labels: { aadpodidbinding: "fed" } },
    spec: { nodeName: node, serviceAccountName: podServiceAccount, containers: [{ name: "app", image: "busybox" }] },
    status: { phase: "Running", podIP: "10.244.1.9", podIPs: [{ ip: "10.244.1.9" }] },
  });
  return world;
}

async function explain(w: ExplainWorld, namespace = "team-a"): Promise<{ code: number; doc: PodExplanation }> {
  const run = await w.run(["explain", "pod", "app-0", "-n", namespace, "-o", "json"]);
  return { code: run.code, doc: JSON.parse(run.stdout) as PodExplanation };
}

describe("podid explain pod — federated identities", () => {
  it("says the identity does not trust the pod's service account, and how to list it", async () => {
    const w = await federatedWorld("intruder");
    const { code, doc } = await explain(w);
    expect(code, "a problem verdict exits 2").toBe(2);
    expect(doc.verdicts).toHaveLength(1);
    expect(doc.verdicts[0]).toMatchObject({ kind: "service account not trusted", identity: "team-a/fed-reader" });
    expect(doc.verdicts[0]?.message).toContain("runs as intruder");
    expect(doc.verdicts[0]?.fix).toContain('"value":"intruder"');
  });

  it("a trusted pod still waiting for its credential is pending, not a problem", async () => {
    const w = await federatedWorld("web");
    w.assigned("team-a", "app-0", "team-a", "fed-reader", "Created");
    const { code, doc } = await explain(w);
    expect(code).toBe(0);
    expect(doc.verdicts[0]).toMatchObject({ kind: "waiting for MIC" });
    expect(doc.verdicts[0]?.message).toContain("federated identity credential");
  });

  it("shows the 20-credential cap from MIC's Event on the AzureAssignedIdentity", async () => {
    const w = await federatedWorld("web");
    const aai = w.assigned("team-a", "app-0", "team-a", "fed-reader", "Created");
    const [namespace, name] = aai.split("/");
    w.event(
      { kind: "AzureAssignedIdentity", namespace: namespace ?? "", name: name ?? "" },
      "Warning",
      "FederatedCredentialLimit",
      "identity team-a/fed-reader already holds the most federated identity credentials Azure allows (20) and none trusts system:serviceaccount:team-a:web",
      "2024-05-01T12:00:00Z",
    );
    const { code, doc } = await explain(w);
    expect(code).toBe(2);
    expect(doc.verdicts[0]).toMatchObject({ kind: "federated credential limit", identity: "team-a/fed-reader" });
    expect(doc.verdicts[0]?.message).toContain("(20)");
  });

  it("an Assigned federated pod is served without anything on the VM/VMSS", async () => {
    const w = await federatedWorld("web");
    w.assigned("team-a", "app-0", "team-a", "fed-reader", "Assigned");
    const { code, doc } = await explain(w);
    expect(code).toBe(0);
    expect(doc.verdicts[0]).toMatchObject({ kind: "assigned" });
    expect(doc.verdicts[0]?.message).toContain("federated");
  });
});
