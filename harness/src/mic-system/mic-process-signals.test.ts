import { beforeAll, describe, expect, it } from "vitest";
import { teams } from "./test-support/fault-helpers.js";
import { ChildMics, ensureBuilt, leaseHolder } from "./test-support/child-mic.js";
import { until } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * `podid-mic` as real processes (`node packages/mic-runner/dist/main.js` with the original's flags) on one
 * Lease against the loopback fakes: the `/healthz` contract of leader and standby, SIGTERM (the Lease is
 * released, the process exits 0 and the standby takes over at once), and `kill -9` of the leader between
 * the PATCH and the status write. After each fault the survivors must converge with nothing lost.
 */

const mics = new ChildMics();
const worlds = worldPerTest(() => mics.killAll());

beforeAll(() => ensureBuilt(), 200_000);

describe("podid-mic processes: signals and kill -9 mid-PATCH", { timeout: 60_000 }, () => {
  it("leader Active, standby Not Active; SIGTERM releases the Lease, exits 0, and the standby takes over at once", async () => {
    const w = await worlds.start();
    const [leader, standby] = await mics.pair(w);
    expect(await standby.healthz()).toBe("Not Active");
    expect(leaseHolder(w)).toBe(leader.name);
    teams(w, 1);
    w.pod("before", "team-0", w.nodes[0] ?? "");
    await w.converged();

    expect(await leader.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(leader.logged("stopped")).toBe(true);
    // Released on the way out (empty holder), so the standby need not wait for the lease to expire.
    expect(["", standby.name]).toContain(leaseHolder(w));
    await until("standby Active", async () => (await standby.healthz()) === "Active", 5_000);
    expect(leaseHolder(w)).toBe(standby.name);
    w.pod("after", "team-0", w.nodes[1] ?? "");
    w.deletePod("before");
    await w.converged();
  });

  it("kill -9 of the leader between the PATCH and the status write: the next leader confirms from ARM, nothing is lost", async () => {
    const w = await worlds.start({ patchLatencyMs: 600 });
    const [leader, standby] = await mics.pair(w);
    teams(w, 2);
    const started = w.arm.counts().operations.started;
    for (let i = 0; i < 4; i++) w.pod(`crash-${i}`, `team-${i % 2}`, w.nodes[i % 3] ?? "");
    await until("the PATCH is in flight", () => w.arm.counts().operations.started > started, 10_000);
    expect(Object.values(w.statuses())).toEqual(["Created", "Created", "Created", "Created"]);
    expect(await leader.kill()).toEqual({ code: null, signal: "SIGKILL" });
    // The dead leader's operation carries on in ARM and lands; no status was written for it.
    await until("the operation landed", () => w.attached().length === 3, 5_000);
    expect(Object.values(w.statuses()).every((s) => s === "Created")).toBe(true);

    await until("standby Active", async () => (await standby.healthz()) === "Active", 10_000);
    await w.converged(w.keepOnScaleSet(), 15_000);
    expect(w.assigned()).toHaveLength(4);
  });
});
