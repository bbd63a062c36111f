import { describe, expect, it } from "vitest";
import { buildScaleCluster, FakeCluster, FakeCompute, seedScaleCluster } from "@podid/testkit";
import { computeTargetKey } from "../azure-ids/compute-target.js";
import { identityKey } from "../azure-ids/user-assigned-identity-id.js";
import type { ComputeIdentityState, ComputeTarget } from "../azure-ids/types.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import type { InvolvedObject } from "../ports/event-recorder.port.js";
import { executeReconcilePlan } from "./execute-plan.js";
import { planReconcile } from "./plan.js";
import { EMPTY_QUARANTINE, isQuarantined, type QuarantineState } from "./quarantine.js";

interface Recorded {
  object: InvolvedObject;
  type: string;
  reason: string;
  message: string;
}

/** A small world: `pods` pods on `nodes` nodes of one scale set (or VMs), one identity per selector. */
function world(shape: { pods: number; nodes: number; nodesPerScaleSet: number; identities: number }) {
  const base = buildScaleCluster({ ...shape, namespaces: 1 });
  const cluster = new FakeCluster();
  const compute = new FakeCompute();
  const targets = seedScaleCluster(base, cluster, compute);
  for (const pod of base.pods) cluster.apply("pods", pod);
  const events: Recorded[] = [];
  let quarantine: QuarantineState = EMPTY_QUARANTINE;
  const pass = async (immutableIdentities: readonly string[] = [], readArm = false) => {
    const observed = new Map<string, ComputeIdentityState>();
    for (const target of readArm ? targets.values() : []) {
      const state = await compute.getIdentities(target);
      if (state.ok) observed.set(computeTargetKey(target), state.value);
    }
    const desired = matchAssignments(
      { pods: cluster.list("pods"), bindings: cluster.list("azureidentitybindings"), identities: cluster.list("azureidentities") },
      { forceNamespaced: false },
    ).assignments;
    const plan = planReconcile({ desired, current: cluster.list("azureassignedidentities"), nodes: cluster.list("nodes"), ...(readArm ? { observed } : {}), policy: { immutableIdentities, quarantine }, nowMs: 0 });
    const report = await executeReconcilePlan(
      plan,
      quarantine,
      { writer: cluster, compute, events: { record: (object, type, reason, message) => events.push({ object, type, reason, message }) } },
      { now: () => 0 },
    );
    quarantine = report.quarantine;
    return { plan, report };
  };
  const statuses = () => Object.fromEntries(cluster.list("azureassignedidentities").map((a) => [a.spec.azureIdentityRef.metadata.name + "/" + a.spec.pod, a.status]));
  return { base, cluster, compute, targets: [...targets.values()], events, pass, statuses, quarantine: () => quarantine };
}

describe("executeReconcilePlan", () => {
  it("assigns the valid identities of a batch when one is refused (invalid_identities e2e), quarantining only that one", async () => {
    const w = world({ pods: 3, nodes: 3, nodesPerScaleSet: 3, identities: 3 });
    const bad = w.base.identities[2]?.spec.resourceID ?? "";
    w.compute.forbidIdentities([bad]);
    const { report } = await w.pass();
    const [vmss] = w.targets;
    expect(w.compute.identitiesOf(vmss as ComputeTarget)?.userAssignedKeys).toEqual(
      [w.base.identities[0], w.base.identities[1]].map((i) => identityKey(i?.spec.resourceID ?? "")).sort(),
    );
    expect(w.statuses()).toEqual({ "identity-0/pod-0": "Assigned", "identity-1/pod-1": "Assigned", "identity-2/pod-2": "Created" });
    expect(isQuarantined(report.quarantine, bad, 0)).toBe(true);
    expect(report.targets[0]?.patches).toBe(2);
    const warning = w.events.find((e) => e.reason === "binding apply error");
    expect(warning?.object).toMatchObject({ kind: "AzureIdentityBinding", name: "binding-2" });
    expect(w.events.filter((e) => e.reason === "binding applied").map((e) => e.object.name).sort()).toEqual(["binding-0", "binding-1"]);
    // The next pass leaves the quarantined identity out instead of retrying it at once.
    const again = await w.pass();
    expect(again.plan.held.map((h) => h.assignment.spec.pod)).toEqual(["pod-2"]);
    expect(again.plan.targets).toEqual([]);
  });

  it("re-attaches an identity removed out of band, and demotes the object to Created when ARM refuses it", async () => {
    const w = world({ pods: 2, nodes: 2, nodesPerScaleSet: 2, identities: 2 });
    await w.pass();
    const [vmss] = w.targets as [ComputeTarget];
    const [first, second] = w.base.identities.map((i) => i.spec.resourceID);
    w.compute.detachOutOfBand(vmss, first ?? "");
    w.compute.detachOutOfBand(vmss, second ?? "");
    w.compute.forbidIdentities([second ?? ""]);

    const { plan } = await w.pass([], true);
    expect(plan.targets[0]?.repair.map((a) => a.spec.pod)).toEqual(["pod-0", "pod-1"]);
    // The accepted identity is back and its object stays Assigned; the refused one's object no longer
    // claims an identity ARM does not hold: it is Created (NMI waits) with a Warning naming ARM's reason.
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([identityKey(first ?? "")]);
    expect(w.statuses()).toEqual({ "identity-0/pod-0": "Assigned", "identity-1/pod-1": "Created" });
    expect(w.events.filter((e) => e.reason === "binding apply error").map((e) => e.object.name)).toEqual(["binding-1"]);

    // From then on it is an ordinary Created object: held back while its identity is quarantined.
    const next = await w.pass([], true);
    expect(next.plan.held.map((h) => h.assignment.spec.pod)).toEqual(["pod-1"]);
    expect(next.plan.targets).toEqual([]);
  });

  it("keeps a scale-set identity while another instance's pod uses it, and removes it with the last one", async () => {
    const w = world({ pods: 2, nodes: 2, nodesPerScaleSet: 2, identities: 1 });
    await w.pass();
    const [vmss] = w.targets as [ComputeTarget];
    const key = identityKey(w.base.identities[0]?.spec.resourceID ?? "");
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([key]);
    w.cluster.remove("pods", "ns-0", "pod-0");
    const first = await w.pass();
    expect(first.report.targets).toEqual([]);
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([key]);
    expect(Object.keys(w.statuses())).toEqual(["identity-0/pod-1"]);
    w.cluster.remove("pods", "ns-0", "pod-1");
    await w.pass();
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
    expect(w.compute.identitiesOf(vmss)?.type).toBe("SystemAssigned");
    expect(w.statuses()).toEqual({});
  });

  it("leaves everything Created when ARM throttles, and reports how long to wait", async () => {
    const w = world({ pods: 2, nodes: 2, nodesPerScaleSet: 2, identities: 2 });
    w.compute.throttle("all", { retryAfterMs: 20_000, count: 1 });
    const { report } = await w.pass();
    expect(report.targets[0]?.error).toMatchObject({ kind: "throttled", retryAfterMs: 20_000 });
    expect(Object.values(w.statuses())).toEqual(["Created", "Created"]);
    await w.pass();
    expect(Object.values(w.statuses())).toEqual(["Assigned", "Assigned"]);
  });

  it("never detaches an immutable identity (compared case-insensitively)", async () => {
    const w = world({ pods: 1, nodes: 1, nodesPerScaleSet: 0, identities: 1 });
    await w.pass();
    w.cluster.remove("pods", "ns-0", "pod-0");
    await w.pass([(w.base.identities[0]?.spec.clientID ?? "").toUpperCase()]);
    const [vm] = w.targets as [ComputeTarget];
    expect(w.compute.identitiesOf(vm)?.userAssignedKeys).toEqual([identityKey(w.base.identities[0]?.spec.resourceID ?? "")]);
    expect(w.statuses()).toEqual({});
  });

  it("splits 165 identities on one scale set into PATCHes of 150 and 15 (#813)", async () => {
    const w = world({ pods: 165, nodes: 3, nodesPerScaleSet: 3, identities: 165 });
    const { report } = await w.pass();
    expect(report.targets[0]?.patches).toBe(2);
    expect(w.compute.identitiesOf(w.targets[0] as ComputeTarget)?.userAssignedKeys.length).toBe(165);
    expect(new Set(Object.values(w.statuses()))).toEqual(new Set(["Assigned"]));
  });

  it("deletes objects of a deleted node without any ARM call", async () => {
    const w = world({ pods: 2, nodes: 2, nodesPerScaleSet: 0, identities: 1 });
    await w.pass();
    const before = w.compute.counts();
    const node = w.base.nodes[0];
    w.cluster.remove("nodes", "", node?.metadata.name ?? "");
    w.cluster.remove("pods", "ns-0", "pod-0");
    await w.pass();
    expect(w.compute.counts().patches).toBe(before.patches);
    expect(Object.keys(w.statuses())).toEqual(["identity-0/pod-1"]);
  });
});
