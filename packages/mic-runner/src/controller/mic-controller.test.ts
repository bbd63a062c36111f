import { describe, expect, it } from "vitest";
import { computeTargetKey, err, identityKey, type AssignedIdentityWriterPort, type ComputePort, type ComputeTarget } from "@podid/core";
import { buildScaleCluster, FakeCluster, FakeCompute, RecordingEventRecorder, RecordingLogger, seedScaleCluster, VirtualClock, type ScaleClusterOptions } from "@podid/testkit";
import { MicController } from "./mic-controller.js";

const VMSS_PATCH_MS = 40_000;

/** A cluster on fakes driven by a MicController on a virtual clock. */
function world(shape: Omit<ScaleClusterOptions, "namespaces"> & { namespaces?: number }, patchLatency: (t: ComputeTarget) => number = (t) => (t.kind === "vmss" ? VMSS_PATCH_MS : 10_000)) {
  const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
  const base = buildScaleCluster({ namespaces: 1, ...shape });
  const cluster = new FakeCluster({ clock });
  const compute = new FakeCompute({ clock, patchLatencyMs: patchLatency, getLatencyMs: 200, oneOperationAtATimePerTarget: true });
  const targets = seedScaleCluster(base, cluster, compute);
  let leader = true;
  const events = new RecordingEventRecorder();
  const controller = new MicController(
    { reader: cluster, writer: cluster, compute, clock, logger: new RecordingLogger({ clock }), events, isLeader: () => leader },
    { batchWindowMs: 1_000 },
  );
  const assigned = () => cluster.list("azureassignedidentities").filter((a) => a.status === "Assigned").length;
  /** Advances virtual time in steps until `done` or `maxMs` passed; returns the virtual ms it took. */
  const runUntil = async (done: () => boolean, maxMs: number, stepMs = 500): Promise<number> => {
    const start = clock.now();
    while (!done() && clock.now() - start < maxMs) await clock.advanceAsync(stepMs);
    return clock.now() - start;
  };
  return { clock, base, cluster, compute, controller, events, targets: [...targets.values()], assigned, runUntil, setLeader: (v: boolean) => (leader = v) };
}

describe("MicController", () => {
  it("starts each scale set's PATCH once one object per identity on it exists, not after every create in the cluster (ADR 13)", async () => {
    const w = world({ pods: 200, nodes: 4, nodesPerScaleSet: 2, identities: 4 }, () => 2_000);
    // A client-side rate limit in miniature: one create at a time, 100 ms each (200 creates = 20 s).
    const slowWriter = {
      create: async (aai: Parameters<FakeCluster["create"]>[0]) => {
        await w.clock.sleep(100);
        return w.cluster.create(aai);
      },
      update: (aai: Parameters<FakeCluster["update"]>[0]) => w.cluster.update(aai),
      setStatus: (aai: Parameters<FakeCluster["setStatus"]>[0], status: Parameters<FakeCluster["setStatus"]>[1]) => w.cluster.setStatus(aai, status),
      delete: (aai: Parameters<FakeCluster["delete"]>[0]) => w.cluster.delete(aai),
    };
    const controller = new MicController(
      { reader: w.cluster, writer: slowWriter, compute: w.compute, clock: w.clock, logger: new RecordingLogger({ clock: w.clock }), isLeader: () => true },
      { batchWindowMs: 1_000, writeConcurrency: 1 },
    );
    controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    const firstAssigned = await w.runUntil(() => w.assigned() > 0, 120_000, 100);
    const createdByThen = w.cluster.list("azureassignedidentities").length;
    // Batch window + 8 covering creates + GET + one 2 s PATCH, well before the 20 s of creates end.
    expect(firstAssigned).toBeLessThan(6_000);
    expect(createdByThen).toBeLessThan(200);
    await w.runUntil(() => w.assigned() === 200, 120_000);
    expect(w.assigned()).toBe(200);
    expect(w.compute.counts().patches).toBe(w.targets.length);
    controller.stop();
  });

  it("assigns 40 pods on a scale set and two VMs within one PATCH latency, one PATCH per VM/VMSS", async () => {
    const w = world({ pods: 40, nodes: 5, nodesPerScaleSet: 3, identities: 5 });
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    const took = await w.runUntil(() => w.assigned() === 40, 600_000);
    expect(w.assigned()).toBe(40);
    expect(took).toBeLessThanOrEqual(VMSS_PATCH_MS + 5_000);
    // 5 nodes: one scale set of 3 and one of 2 (scale sets of 3) — one PATCH each.
    expect(w.compute.counts().patches).toBe(w.targets.length);
    w.controller.stop();
  });

  it("writes no status before its object exists while pods keep arriving during a rate-limited burst (objects already attached are created and confirmed by one pass)", async () => {
    const w = world({ pods: 1_000, nodes: 40, nodesPerScaleSet: 10, identities: 20, namespaces: 5 }, () => 5_000);
    // Every write takes the next 20 ms slot: a 50 QPS client in miniature.
    let nextSlot = w.clock.now();
    const slot = async () => {
      const at = Math.max(nextSlot, w.clock.now());
      nextSlot = at + 20;
      await w.clock.sleep(at - w.clock.now());
    };
    const failures: string[] = [];
    const limited: AssignedIdentityWriterPort = {
      create: async (aai) => (await slot(), w.cluster.create(aai)),
      update: async (aai) => (await slot(), w.cluster.update(aai)),
      setStatus: async (aai, status) => {
        await slot();
        const result = await w.cluster.setStatus(aai, status);
        if (!result.ok) failures.push(`${aai.metadata.name}: ${result.error.kind}`);
        return result;
      },
      delete: async (aai) => (await slot(), w.cluster.delete(aai)),
    };
    const controller = new MicController(
      { reader: w.cluster, writer: limited, compute: w.compute, clock: w.clock, logger: new RecordingLogger({ clock: w.clock }), isLeader: () => true },
      { batchWindowMs: 1_000 },
    );
    controller.start();
    for (const [i, pod] of w.base.pods.entries()) {
      w.cluster.apply("pods", pod);
      if (i % 50 === 49) await w.clock.advanceAsync(2_000);
    }
    await w.runUntil(() => w.assigned() === 1_000, 300_000, 1_000);
    controller.stop();
    expect(failures.slice(0, 5)).toEqual([]);
    expect(w.assigned()).toBe(1_000);
  });

  it("does not let a slow scale set delay a fast VM", async () => {
    const w = world({ pods: 4, nodes: 2, nodesPerScaleSet: 0, identities: 2 }, (t) => (t.name.endsWith("-0") ? 120_000 : 2_000));
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    const fast = await w.runUntil(() => w.assigned() >= 2, 60_000);
    expect(fast).toBeLessThan(10_000);
    expect(w.assigned()).toBe(2);
    await w.runUntil(() => w.assigned() === 4, 300_000);
    expect(w.assigned()).toBe(4);
    w.controller.stop();
  });

  it("coalesces a burst of changes to the same scale set while its PATCH runs into one more PATCH", async () => {
    const w = world({ pods: 30, nodes: 3, nodesPerScaleSet: 3, identities: 30 });
    w.controller.start();
    for (const pod of w.base.pods.slice(0, 10)) w.cluster.apply("pods", pod);
    await w.clock.advanceAsync(5_000); // first PATCH (10 identities) now in flight
    for (const pod of w.base.pods.slice(10)) {
      w.cluster.apply("pods", pod);
      await w.clock.advanceAsync(100);
    }
    await w.runUntil(() => w.assigned() === 30, 600_000);
    expect(w.assigned()).toBe(30);
    expect(w.compute.counts().patches).toBe(2);
    w.controller.stop();
  });

  it("honours Retry-After per scale set instead of hammering ARM", async () => {
    const w = world({ pods: 6, nodes: 3, nodesPerScaleSet: 3, identities: 3 });
    const [vmss] = w.targets as [ComputeTarget];
    w.compute.throttleUntil(vmss, w.clock.now() + 60_000, ["patch"]);
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    const took = await w.runUntil(() => w.assigned() === 6, 600_000);
    expect(w.assigned()).toBe(6);
    expect(took).toBeGreaterThanOrEqual(60_000);
    expect(w.compute.counts().errors.throttled ?? 0).toBeLessThanOrEqual(2);
    w.controller.stop();
  });

  // Took over the assertions of adapter-azure's "429 storm" test when the adapter stopped keeping gates of its own.
  it("in a 429 storm calls a scale set once per Retry-After, waiting it out even when ARM would answer sooner, and never holds up the others", async () => {
    const w = world({ pods: 40, nodes: 4, nodesPerScaleSet: 3, identities: 4 }, () => 2_000);
    const [vmss] = w.targets as [ComputeTarget];
    const key = computeTargetKey(vmss);
    const otherNode = w.base.nodes[3]?.metadata.name;
    w.compute.throttle(vmss, { retryAfterMs: 30_000, count: 1 }); // one 429; ARM would answer the next call at once
    w.controller.start();
    for (const pod of w.base.pods) {
      w.cluster.apply("pods", pod); // a storm of events, each asking for another planning pass
      await w.clock.advanceAsync(250);
    }
    await w.clock.advanceAsync(20_000);
    const calls = () => w.compute.callLog.filter((call) => call.targetKey === key);
    const first = calls()[0];
    expect(first?.outcome).toBe("throttled");
    const firstAt = first?.startedAtMs ?? 0;
    // The other scale set's pods landed meanwhile.
    expect(w.cluster.list("azureassignedidentities").filter((a) => a.spec.nodeName === otherNode && a.status === "Assigned")).toHaveLength(10);
    await w.runUntil(() => w.assigned() === 40, 300_000);
    expect(w.assigned()).toBe(40);
    expect(calls().filter((call) => call.startedAtMs < firstAt + 30_000)).toHaveLength(1);
    expect(calls()[1]?.startedAtMs).toBeGreaterThanOrEqual(firstAt + 30_000);
    expect(w.controller.stats.throttled).toBe(1);
    w.controller.stop();
  });

  it("quarantines a refused identity, lands the rest, and records a Warning on its binding", async () => {
    const w = world({ pods: 3, nodes: 3, nodesPerScaleSet: 3, identities: 3 });
    w.compute.forbidIdentities([w.base.identities[1]?.spec.resourceID ?? ""]);
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    await w.runUntil(() => w.assigned() === 2, 300_000);
    await w.clock.advanceAsync(10_000);
    expect(w.assigned()).toBe(2);
    expect(w.cluster.get("azureassignedidentities", "default", "pod-1-ns-0-identity-1")?.status).toBe("Created");
    expect(w.events.find({ reason: "binding apply error" })).toBeDefined();
    expect([...w.controller.quarantine.keys()]).toEqual([identityKey(w.base.identities[1]?.spec.resourceID ?? "")]);
    // Permission granted: the identity lands once its quarantine ends.
    w.compute.allowIdentities([w.base.identities[1]?.spec.resourceID ?? ""]);
    await w.runUntil(() => w.assigned() === 3, 3_600_000, 5_000);
    expect(w.assigned()).toBe(3);
    w.controller.stop();
  });

  it("re-attaches an identity removed out of band at the next drift pass, reading each target once per interval", async () => {
    const w = world({ pods: 2, nodes: 2, nodesPerScaleSet: 2, identities: 1 });
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    await w.runUntil(() => w.assigned() === 2, 300_000);
    const [vmss] = w.targets as [ComputeTarget];
    const id = identityKey(w.base.identities[0]?.spec.resourceID ?? "") ?? "";
    w.compute.detachOutOfBand(vmss, id);
    const readsBefore = w.controller.stats.driftReads;
    await w.runUntil(() => w.compute.identitiesOf(vmss)?.userAssignedKeys.includes(id) === true, 10 * 60_000, 5_000);
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toContain(id);
    expect(w.controller.stats.driftReads - readsBefore).toBeLessThanOrEqual(2);
    w.controller.stop();
  });

  it("stops writing at once when leadership is lost mid-flight", async () => {
    const w = world({ pods: 6, nodes: 3, nodesPerScaleSet: 3, identities: 3 });
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    await w.clock.advanceAsync(5_000); // AAIs created, PATCH in flight
    const writesBefore = w.cluster.writeCounts();
    w.setLeader(false);
    await w.clock.advanceAsync(120_000);
    const after = w.cluster.writeCounts();
    expect(after.statusUpdates).toBe(writesBefore.statusUpdates);
    expect(after.creates).toBe(writesBefore.creates);
    expect(w.assigned()).toBe(0);
    w.controller.stop();
  });

  it("detaches identities when pods go, keeping ones still used on the scale set", async () => {
    const w = world({ pods: 4, nodes: 2, nodesPerScaleSet: 2, identities: 2 });
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    await w.runUntil(() => w.assigned() === 4, 300_000);
    const [vmss] = w.targets as [ComputeTarget];
    w.cluster.remove("pods", "ns-0", "pod-0"); // identity-0 still used by pod-2
    await w.clock.advanceAsync(60_000);
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys.length).toBe(2);
    w.cluster.remove("pods", "ns-0", "pod-2");
    await w.runUntil(() => w.compute.identitiesOf(vmss)?.userAssignedKeys.length === 1, 300_000);
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([identityKey(w.base.identities[1]?.spec.resourceID ?? "")]);
    expect(w.cluster.list("azureassignedidentities").length).toBe(2);
    w.controller.stop();
  });

  it("reads each VM/VMSS in use exactly once per drift interval in steady state, and patches nothing", async () => {
    const w = world({ pods: 6, nodes: 4, nodesPerScaleSet: 2, identities: 2 });
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    await w.runUntil(() => w.assigned() === 6, 300_000);
    await w.clock.advanceAsync(5 * 60_000);
    const before = { reads: w.controller.stats.driftReads, patches: w.compute.counts().patches };
    await w.runUntil(() => false, 3_600_000, 10_000);
    expect(w.controller.stats.driftReads - before.reads).toBe(w.targets.length * 20);
    expect(w.compute.counts().patches).toBe(before.patches);
    w.controller.stop();
  });

  it("a new leader detaches what a dead leader's PATCH attached for a pod that went meanwhile, waiting while ARM still works", async () => {
    const w = world({ pods: 2, nodes: 2, nodesPerScaleSet: 2, identities: 1 });
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    await w.clock.advanceAsync(5_000); // AAIs Created, the 40 s PATCH is running in ARM
    expect(w.cluster.list("azureassignedidentities").map((a) => a.status)).toEqual(["Created", "Created"]);
    // The leader dies: its status writes are fenced, its ARM operation carries on.
    w.setLeader(false);
    w.controller.stop();
    for (const pod of w.base.pods) w.cluster.remove("pods", pod.metadata.namespace, pod.metadata.name);
    const next = new MicController(
      { reader: w.cluster, writer: w.cluster, compute: w.compute, clock: w.clock, logger: new RecordingLogger({ clock: w.clock }), isLeader: () => true },
      { batchWindowMs: 1_000, operationPollMs: 5_000 },
    );
    next.start();
    await w.clock.advanceAsync(10_000); // the operation is still running: nothing is deleted yet
    expect(w.cluster.list("azureassignedidentities")).toHaveLength(2);
    const [vmss] = w.targets as [ComputeTarget];
    await w.runUntil(() => w.cluster.list("azureassignedidentities").length === 0 && w.compute.identitiesOf(vmss)?.userAssignedKeys.length === 0, 300_000);
    expect(w.cluster.list("azureassignedidentities")).toEqual([]);
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
    next.stop();
  });

  it("whenIdle resolves once the VM/VMSS work in flight has finished", async () => {
    const w = world({ pods: 2, nodes: 2, nodesPerScaleSet: 2, identities: 1 });
    w.controller.start();
    for (const pod of w.base.pods) w.cluster.apply("pods", pod);
    await w.clock.advanceAsync(5_000);
    w.controller.stop();
    let idle = false;
    void w.controller.whenIdle().then(() => (idle = true));
    await w.clock.advanceAsync(10_000);
    expect(idle).toBe(false);
    await w.runUntil(() => idle, 120_000);
    expect(idle).toBe(true);
    // Still the leader while draining: the PATCH's status writes land.
    expect(w.assigned()).toBe(2);
  });

  it("forgets what it knew of a VM/VMSS whose PATCH outcome is unknown, so a pod leaving meanwhile never strands its identity", async () => {
    const w = world({ pods: 2, nodes: 1, nodesPerScaleSet: 1, identities: 2 });
    const [first, second] = w.base.pods;
    if (first === undefined || second === undefined) throw new Error("two pods expected");
    let lie = false;
    let lied = false;
    const lost = () => Promise.resolve(err({ kind: "throttled" as const, retryAfterMs: 1_000, scope: "target" as const, message: "injected: answer lost" }));
    // While `lie`: ARM applies a PATCH, but its answer and every read after it are lost (429s).
    const flaky: ComputePort = {
      getIdentities: (target) => (lie && lied ? lost() : w.compute.getIdentities(target)),
      patchIdentities: async (target, patch, ifMatch) => {
        const result = await w.compute.patchIdentities(target, patch, ifMatch);
        if (!lie || !result.ok) return result;
        lied = true;
        return lost();
      },
    };
    w.controller.stop();
    const controller = new MicController({ reader: w.cluster, writer: w.cluster, compute: flaky, clock: w.clock, logger: new RecordingLogger({ clock: w.clock }), isLeader: () => true }, { batchWindowMs: 1_000, operationPollMs: 5_000 });
    controller.start();
    const [vmss] = w.targets as [ComputeTarget];
    w.cluster.apply("pods", first);
    await w.runUntil(() => w.assigned() === 1, 120_000); // the controller now knows the scale set's identities
    lie = true;
    w.cluster.apply("pods", second);
    await w.runUntil(() => (w.compute.identitiesOf(vmss)?.userAssignedKeys.length ?? 0) === 2, 120_000);
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toHaveLength(2);
    await w.clock.advanceAsync(1_000);
    expect(w.cluster.list("azureassignedidentities").map((a) => a.status).sort()).toEqual(["Assigned", "Created"]);
    w.cluster.remove("pods", second.metadata.namespace, second.metadata.name);
    await w.clock.advanceAsync(3_000);
    lie = false;
    await w.runUntil(() => w.cluster.list("azureassignedidentities").length === 1 && w.compute.identitiesOf(vmss)?.userAssignedKeys.length === 1, 120_000);
    expect(w.compute.identitiesOf(vmss)?.userAssignedKeys).toHaveLength(1);
    controller.stop();
  });
});
