import { beforeAll, describe, expect, it } from "vitest";
import { prng, teams } from "./test-support/fault-helpers.js";
import { ChildMics, ensureBuilt } from "./test-support/child-mic.js";
import { sleep, until } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * `kill -9` of real `podid-mic` processes where crash safety is hardest: while ARM still runs the dead
 * leader's PATCH and the pod goes away meanwhile (the next leader must wait for the operation and detach
 * the identity, not forget it), and at random points while pods come and go. After the faults the
 * survivors must converge with nothing lost.
 */

const mics = new ChildMics();
const worlds = worldPerTest(() => mics.killAll());

beforeAll(() => ensureBuilt(), 200_000);

describe("podid-mic processes: kill -9 at hard points", { timeout: 60_000 }, () => {
  it("kill -9 while ARM still runs the dead leader's PATCH and the pods go away meanwhile: the identity is detached, not forgotten", async () => {
    // The operation (2.5 s) outlives the lease (1 s): the next leader finds the scale set Updating.
    const w = await worlds.start({ patchLatencyMs: 2_500 });
    const [leader, standby] = await mics.pair(w);
    teams(w, 1);
    const started = w.arm.counts().operations.started;
    w.pod("short-lived", "team-0", w.nodes[0] ?? "");
    await until("the PATCH is in flight", () => w.arm.counts().operations.started > started, 10_000);
    await leader.kill();
    w.deletePod("short-lived");
    await until("standby Active", async () => (await standby.healthz()) === "Active", 10_000);
    expect(w.compute.identitiesOf(w.scaleSet)?.provisioningState).toBe("Updating");
    expect(w.assigned().map((a) => a.status)).toEqual(["Created"]);

    await until("the operation landed", () => w.attached().includes(w.key(w.identity("team-0"))), 5_000);
    await w.converged(w.keepOnScaleSet(), 20_000);
    expect(w.attached()).toEqual([w.key(w.clusterIdentity)]);
    expect(standby.logged("leaving Created object waits for a settled read of its VM/VMSS")).toBe(true);
  });

  it("kill -9 of the leader at random points while pods come and go: the survivors converge with nothing lost", async () => {
    const seed = Number(process.env["PODID_CHAOS_SEED"] ?? Date.now() % 100_000);
    const random = prng(seed);
    const w = await worlds.start({ patchLatencyMs: 300, vmNodes: 1 });
    teams(w, 3);
    let [leader, standby] = await mics.pair(w);
    let next = 0;
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 2; i++) w.pod(`r${round}-${i}`, `team-${Math.floor(random() * 3)}`, w.nodes[Math.floor(random() * w.nodes.length)] ?? "");
        if (round > 0 && random() < 0.7) w.deletePod(`r${round - 1}-${Math.floor(random() * 2)}`);
        await sleep(Math.floor(random() * 700));
        await leader.kill();
        const replacement = await mics.spawn(w, `mic-${next++}`);
        await until("a new leader", async () => (await standby.healthz()) === "Active" || (await replacement.healthz()) === "Active", 10_000);
        [leader, standby] = (await standby.healthz()) === "Active" ? [standby, replacement] : [replacement, standby];
      }
      await w.converged(w.keepOnScaleSet(), 20_000);
    } catch (error) {
      throw new Error(`seed ${seed} (replay with PODID_CHAOS_SEED=${seed}): ${String(error)}`);
    }
  });
});
