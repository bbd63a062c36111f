import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultLeaderElectionConfig, METRIC } from "@podid/core";
import { FakeLeaseStore, RecordingMetrics, VirtualClock, type FakeLeaseClient } from "@podid/testkit";
import { LeaderElector } from "./leader-elector.js";

const LEASE_MS = 4000; // renew deadline 2000, retry 1000

interface Candidate {
  readonly elector: LeaderElector;
  readonly client: FakeLeaseClient;
  readonly changes: boolean[];
}

function candidates(n: number, clock: VirtualClock, store: FakeLeaseStore, jitter = 0.1): Candidate[] {
  return Array.from({ length: n }, (_, i) => {
    const client = store.client(`mic-${i}`, { latencyMs: 20, responseLatencyMs: 20 });
    const elector = new LeaderElector({ store: client, config: defaultLeaderElectionConfig(`mic-${i}`, LEASE_MS), clock, jitter, random: () => 0.5 });
    const changes: boolean[] = [];
    elector.onLeadershipChange((leading) => changes.push(leading));
    return { elector, client, changes };
  });
}

const leaders = (cs: readonly Candidate[]): number => cs.filter((c) => c.elector.isLeader()).length;

/** Drives virtual time until `work` settles (its Lease calls wait on the clock). */
async function settle<T>(clock: VirtualClock, work: Promise<T>): Promise<T> {
  let done = false;
  const tracked = work.finally(() => {
    done = true;
  });
  for (let i = 0; i < 10_000 && !done; i++) await clock.advanceAsync(5);
  return tracked;
}

describe("LeaderElector (virtual time, in-memory Lease)", () => {
  it("elects one leader, renews, and hands over at once on a released stop", async () => {
    const clock = new VirtualClock();
    const store = new FakeLeaseStore({ clock });
    const metrics = new RecordingMetrics();
    const [a, b] = candidates(2, clock, store);
    const first = new LeaderElector({ store: store.client("solo"), config: defaultLeaderElectionConfig("solo", LEASE_MS), clock, metrics });
    first.start();
    await clock.advanceAsync(100);
    expect(first.isLeader()).toBe(true);
    expect(metrics.counter(METRIC.micNewLeaderElectionCount)).toBe(1);
    await settle(clock, first.stop());
    expect(first.isLeader()).toBe(false);
    expect(store.current()?.holderIdentity).toBe("");

    a!.elector.start();
    await clock.advanceAsync(100);
    b!.elector.start();
    await clock.advanceAsync(10 * LEASE_MS);
    expect(a!.elector.isLeader()).toBe(true);
    expect(b!.elector.isLeader()).toBe(false);
    expect(b!.elector.observedHolder).toBe("mic-0");
    const renewals = store.holderHistory().filter((h) => h === "mic-0").length;
    expect(renewals).toBeGreaterThan(30); // renews every retry period (1 s) over 40 s

    await settle(clock, a!.elector.stop());
    expect(a!.changes).toEqual([true, false]);
    await clock.advanceAsync(1000 * 1.1 + 100); // b's next attempt finds the released lease
    expect(b!.elector.isLeader()).toBe(true);
    await settle(clock, b!.elector.stop());
  });

  it("a partitioned leader stops leading at its renew deadline, before anyone else can lead", async () => {
    const clock = new VirtualClock();
    const store = new FakeLeaseStore({ clock });
    const [a, b] = candidates(2, clock, store);
    a!.elector.start();
    await clock.advanceAsync(100);
    b!.elector.start();
    expect(a!.elector.isLeader()).toBe(true);
    a!.client.partition(true);
    const cutAt = clock.now();
    let lostAt: number | undefined;
    let wonAt: number | undefined;
    for (let t = 0; t < 4 * LEASE_MS; t += 10) {
      await clock.advanceAsync(10);
      expect(leaders([a!, b!])).toBeLessThanOrEqual(1);
      if (lostAt === undefined && !a!.elector.isLeader()) lostAt = clock.now();
      if (wonAt === undefined && b!.elector.isLeader()) wonAt = clock.now();
    }
    expect(a!.changes).toEqual([true, false]);
    expect(lostAt! - cutAt).toBeLessThanOrEqual(2000 + 10); // renew deadline
    // Follower takes over once renewTime + lease duration has passed, within one retry period (+ jitter, latency).
    expect(wonAt! - cutAt).toBeLessThanOrEqual(LEASE_MS + 1000 * 1.1 + 200);
    await settle(clock, a!.elector.stop({ release: false }));
    await settle(clock, b!.elector.stop());
  });

  it("never has two leaders under random partitions, stops and restarts, and recovers (property)", async () => {
    const command = fc.record({
      at: fc.integer({ min: 0, max: 20_000 }),
      who: fc.integer({ min: 0, max: 2 }),
      what: fc.constantFrom("cut", "heal", "crash", "stop", "start"),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 12 }), async (commands) => {
        const clock = new VirtualClock({ startMs: 0 });
        const store = new FakeLeaseStore({ clock });
        const cs = candidates(3, clock, store);
        for (const c of cs) c.elector.start();
        const schedule = [...commands].sort((x, y) => x.at - y.at);
        let next = 0;
        for (let t = 0; t <= 20_000; t += 50) {
          while (next < schedule.length && schedule[next]!.at <= t) {
            const { who, what } = schedule[next++]!;
            const c = cs[who]!;
            if (what === "cut") c.client.partition(true);
            if (what === "heal") c.client.partition(false);
            if (what === "crash") void c.elector.stop({ release: false });
            if (what === "stop") void c.elector.stop();
            if (what === "start") c.elector.start();
          }
          await clock.advanceAsync(50);
          expect(leaders(cs)).toBeLessThanOrEqual(1);
        }
        // Heal everything and run everyone: someone leads within a lease duration plus a retry or two.
        for (const c of cs) {
          c.client.partition(false);
          c.elector.start();
        }
        await clock.advanceAsync(LEASE_MS + 3000);
        expect(leaders(cs)).toBe(1);
        for (const c of cs) {
          // Announcements alternate, starting with true.
          c.changes.forEach((leading, i) => expect(leading).toBe(i % 2 === 0));
          await settle(clock, c.elector.stop());
        }
      }),
      { numRuns: 15 },
    );
  });

  it("refuses configs core rejects", () => {
    const clock = new VirtualClock();
    const config = { ...defaultLeaderElectionConfig("x", LEASE_MS), renewDeadlineMs: LEASE_MS };
    expect(() => new LeaderElector({ store: new FakeLeaseStore(), config, clock })).toThrow(RangeError);
  });
});
