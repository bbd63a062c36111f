import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clusterArb, makeBinding, makeIdentity, makePod, TEST_NODE } from "@podid/testkit";
import { serviceAccountSubject } from "../federated/service-account-subject.js";
import { isServiceAccountTrusted } from "../federated/service-account-trust.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import type { AssignedIdentityWireStatus, AzureIdentity, NodeView, PodView } from "../model/types.js";
import { buildAssignedIdentity } from "./assigned-identity-builder.js";
import { planReconcile, type ReconcileInput } from "./plan.js";
import { EMPTY_QUARANTINE } from "./quarantine.js";

const ARM_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fed";
const NODE: NodeView = {
  kind: "Node",
  metadata: { name: TEST_NODE, namespace: "", labels: {}, annotations: {}, finalizers: [] },
  providerID: "azure:///subscriptions/s/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0",
};

function federatedIdentity(serviceAccounts: readonly string[], namespace = "team-a"): AzureIdentity {
  const base = makeIdentity({ name: "fed", namespace });
  return { ...base, spec: { ...base.spec, type: 3, resourceID: ARM_ID, tenantID: "t", serviceAccounts } };
}
const podAs = (serviceAccountName: string, name = "web-0", namespace = "team-a"): PodView => ({
  ...makePod({ name, namespace, ip: "10.0.0.5", selector: "fed" }),
  serviceAccountName,
});

function planFor(pods: readonly PodView[], identity: AzureIdentity, stored: readonly { pod: PodView; status: AssignedIdentityWireStatus }[] = []) {
  const binding = makeBinding(identity, "fed");
  const desired = matchAssignments({ pods, bindings: [binding], identities: [identity] }, { forceNamespaced: false }).assignments;
  const allDesired = matchAssignments({ pods: stored.map((s) => s.pod), bindings: [binding], identities: [identity] }, { forceNamespaced: false }).assignments;
  const current = allDesired.map((d, i) => buildAssignedIdentity(d, stored[i]?.status ?? "Assigned"));
  const input: ReconcileInput = { desired, current, nodes: [NODE], policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 };
  return planReconcile(input);
}

describe("planReconcile — federated (type 3) identities (docs/adr/0021-federated-identities.md)", () => {
  it("creates a Created object for a trusted pod, waiting for its credential; no VM/VMSS work and no confirm", () => {
    const plan = planFor([podAs("web")], federatedIdentity(["web"]));
    expect(plan.creates).toHaveLength(1);
    expect(plan.creates[0]?.status).toBe("Created");
    expect(plan.targets).toStrictEqual([]);
    expect(plan.confirms).toStrictEqual([]);
    expect(plan.federated).toStrictEqual([
      {
        key: ARM_ID.toLowerCase(),
        resourceId: ARM_ID,
        subjects: [serviceAccountSubject("team-a", "web")],
        awaiting: [{ assignment: plan.creates[0], subject: serviceAccountSubject("team-a", "web") }],
      },
    ]);
  });

  it("writes no object for a pod whose service account the identity does not list, and reports the pair", () => {
    const plan = planFor([podAs("other")], federatedIdentity(["web"]));
    expect(plan.creates).toStrictEqual([]);
    expect(plan.federated).toStrictEqual([]);
    expect(plan.untrusted.map((d) => d.pod.metadata.name)).toStrictEqual(["web-0"]);
  });

  it("never trusts a listed service account of another namespace", () => {
    const identity = federatedIdentity(["web"], "team-a");
    const crossNamespaceBinding = { ...makeBinding(identity, "fed"), metadata: { ...makeBinding(identity, "fed").metadata, namespace: "team-a" } };
    const pod = podAs("web", "web-0", "team-b");
    const desired = matchAssignments({ pods: [pod], bindings: [crossNamespaceBinding], identities: [identity] }, { forceNamespaced: false }).assignments;
    expect(desired).toHaveLength(1); // matching alone would grant it (non-namespaced identity)
    const plan = planReconcile({ desired, current: [], nodes: [NODE], policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 });
    expect(plan.creates).toStrictEqual([]);
    expect(plan.untrusted).toHaveLength(1);
  });

  it("an object the identity stopped trusting is released (deleted, no detach), and its identity is planned for clean-up", () => {
    const plan = planFor([podAs("web")], federatedIdentity(["api"]), [{ pod: podAs("web"), status: "Assigned" }]);
    expect(plan.releases).toHaveLength(1);
    expect(plan.targets).toStrictEqual([]);
    expect(plan.federated).toStrictEqual([{ key: ARM_ID.toLowerCase(), resourceId: ARM_ID, subjects: [], awaiting: [] }]);
  });

  it("an Assigned object keeps needing its subject without waiting; a Created one waits", () => {
    const identity = federatedIdentity(["web", "api"]);
    const assigned = planFor([podAs("web")], identity, [{ pod: podAs("web"), status: "Assigned" }]);
    expect(assigned.federated[0]).toMatchObject({ subjects: [serviceAccountSubject("team-a", "web")], awaiting: [] });
    const created = planFor([podAs("web")], identity, [{ pod: podAs("web"), status: "Created" }]);
    expect(created.federated[0]?.awaiting).toHaveLength(1);
    expect(created.confirms).toStrictEqual([]);
  });

  it("plans an object even when its node's provider id cannot be resolved: a federated identity lives on no VM", () => {
    const pod = { ...podAs("web"), nodeName: "node-without-provider-id" };
    const identity = federatedIdentity(["web"]);
    const desired = matchAssignments({ pods: [pod], bindings: [makeBinding(identity, "fed")], identities: [identity] }, { forceNamespaced: false }).assignments;
    const bare: NodeView = { ...NODE, metadata: { ...NODE.metadata, name: "node-without-provider-id" }, providerID: "" };
    const plan = planReconcile({ desired, current: [], nodes: [bare], policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 });
    expect(plan.creates).toHaveLength(1);
    expect(plan.unresolvedNodes).toStrictEqual([]);
  });

  it("a changed resource id replaces the object (the new identity needs its own credential first)", () => {
    const identity = federatedIdentity(["web"]);
    const moved = { ...identity, spec: { ...identity.spec, resourceID: `${ARM_ID}-2` } };
    const match = (id: AzureIdentity) =>
      matchAssignments({ pods: [podAs("web")], bindings: [makeBinding(id, "fed")], identities: [id] }, { forceNamespaced: false }).assignments;
    const current = match(identity).map((d) => buildAssignedIdentity(d, "Assigned"));
    const policy = { immutableIdentities: [], quarantine: EMPTY_QUARANTINE };
    const plan = planReconcile({ desired: match(moved), current, nodes: [NODE], policy, nowMs: 0 });
    expect(plan.releases).toHaveLength(1);
    expect(plan.deferred).toHaveLength(1);
    // Only the list of service accounts changed: the object is rewritten in place, keeping its status.
    const widened = { ...identity, spec: { ...identity.spec, serviceAccounts: ["web", "api"] } };
    const refreshed = planReconcile({ desired: match(widened), current, nodes: [NODE], policy, nowMs: 0 });
    expect(refreshed.updates.map((u) => [u.status, u.spec.azureIdentityRef.spec.serviceAccounts])).toStrictEqual([["Assigned", ["web", "api"]]]);
  });

  it("property: type-3 objects never reach a VM/VMSS plan or a confirm, and objects are created only for trusted pods", () => {
    fc.assert(
      fc.property(
        clusterArb({ maxPods: 12, maxNodes: 5, identityTypes: [0, 1, 3] }),
        fc.array(fc.constantFrom<AssignedIdentityWireStatus>("Created", "Assigned", "Unassigned"), { minLength: 16, maxLength: 16 }),
        fc.nat(),
        (cluster, statuses, cut) => {
          const desired = matchAssignments({ pods: cluster.pods, bindings: cluster.bindings, identities: cluster.identities }, { forceNamespaced: false }).assignments;
          const current = desired.slice(0, cut % (desired.length + 1)).map((d, i) => buildAssignedIdentity(d, statuses[i % 16] ?? "Assigned"));
          const plan = planReconcile({ desired, current, nodes: cluster.nodes, policy: { immutableIdentities: [], quarantine: EMPTY_QUARANTINE }, nowMs: 0 });
          for (const target of plan.targets) {
            for (const aai of [...target.attach, ...target.detach, ...target.repair]) expect(aai.spec.azureIdentityRef.spec.type).toBe(0);
          }
          for (const aai of plan.confirms) expect(aai.spec.azureIdentityRef.spec.type).not.toBe(3);
          const byName = new Map(desired.map((d) => [`${d.namespace}/${d.name}`, d]));
          for (const aai of plan.creates) {
            const d = byName.get(`${aai.metadata.namespace}/${aai.metadata.name}`);
            if (d?.identity.spec.type === 3) expect(isServiceAccountTrusted(d.pod, d.identity)).toBe(true);
          }
          for (const pair of plan.untrusted) expect(isServiceAccountTrusted(pair.pod, pair.identity)).toBe(false);
          // Every Created type-3 object stored after the plan waits in exactly one federated entry.
          const waiting = plan.federated.flatMap((f) => f.awaiting.map((a) => `${a.assignment.metadata.namespace}/${a.assignment.metadata.name}`));
          expect(new Set(waiting).size).toBe(waiting.length);
          for (const aai of plan.creates) {
            if (aai.spec.azureIdentityRef.spec.type === 3) expect(waiting).toContain(`${aai.metadata.namespace}/${aai.metadata.name}`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
