import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { LeaseRecord } from "@podid/core";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeLeaseStore } from "./fake-lease-store.js";

function record(holder: string, at = 0): Omit<LeaseRecord, "resourceVersion"> {
  return { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: at, renewTime: at, leaseTransitions: 0 };
}

describe("FakeLeaseStore", () => {
  it("creates once, then only the holder of the current resourceVersion can update", async () => {
    const store = new FakeLeaseStore();
    const a = store.client("a");
    const b = store.client("b");
    expect(await a.read()).toEqual({ ok: true, value: undefined });
    const created = await a.create(record("a"));
    if (!created.ok) throw new Error("create failed");
    const lost = await b.create(record("b"));
    expect(lost.ok ? undefined : lost.error).toMatchObject({ kind: "conflict", alreadyExists: true });

    const seenByB = await b.read();
    if (!seenByB.ok || seenByB.value === undefined) throw new Error("read failed");
    const renewed = await a.update({ ...created.value, renewTime: 5 });
    expect(renewed.ok).toBe(true);
    const stale = await b.update({ ...seenByB.value, holderIdentity: "b" });
    expect(stale.ok ? undefined : stale.error).toMatchObject({ kind: "conflict", alreadyExists: false });
    expect(store.current()?.holderIdentity).toBe("a");
    expect(store.holderHistory()).toEqual(["a", "a"]);
    expect(store.counts()).toMatchObject({ reads: 2, creates: 2, updates: 2, conflicts: 2 });
  });

  it("update of a missing lease is notFound; out-of-band writes invalidate resourceVersions", async () => {
    const store = new FakeLeaseStore();
    const missing = await store.update({ ...record("a"), resourceVersion: "1" });
    expect(missing.ok ? undefined : missing.error.kind).toBe("notFound");
    const created = await store.create(record("a"));
    if (!created.ok) throw new Error("create failed");
    store.setOutOfBand(record("intruder"));
    const stale = await store.update(created.value);
    expect(stale.ok ? undefined : stale.error.kind).toBe("conflict");
    store.deleteOutOfBand();
    expect((await store.read()).ok && store.current()).toBeUndefined();
  });

  it("partitions and fails clients individually or store-wide", async () => {
    const store = new FakeLeaseStore();
    const a = store.client("a");
    const b = store.client("b");
    a.partition(true);
    expect((await a.create(record("a"))).ok).toBe(false);
    expect((await b.create(record("b"))).ok).toBe(true);
    a.partition(false);
    b.failNext(1, { kind: "throttled", retryAfterMs: 1000, message: "429" }, ["update"]);
    const read = await b.read();
    expect(read.ok).toBe(true);
    const current = store.current();
    if (current === undefined) throw new Error("no lease");
    expect((await b.update(current)).ok).toBe(false);
    store.failNext(1, { kind: "transient", message: "etcd leader changed" });
    expect((await a.read()).ok).toBe(false);
    expect(store.counts().injectedFailures).toBe(3);
    expect(store.log.map((e) => `${e.client}:${e.op}:${e.outcome}`)).toEqual([
      "a:create:transient",
      "b:create:ok",
      "b:read:ok",
      "b:update:throttled",
      "a:read:transient",
    ]);
  });

  it("applies request and response latency on the virtual clock (a write can commit before the caller knows)", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const store = new FakeLeaseStore({ clock });
    const slow = store.client("slow", { latencyMs: 100, responseLatencyMs: 5_000 });
    let answered = false;
    const pending = slow.create(record("slow")).then(() => {
      answered = true;
    });
    await clock.advanceAsync(100);
    expect(store.current()?.holderIdentity).toBe("slow");
    expect(answered).toBe(false);
    await clock.advanceAsync(5_000);
    await pending;
    expect(answered).toBe(true);
    expect(store.log[0]?.atMs).toBe(100);
  });

  it("property: concurrent electors racing with read-then-update never both win the same version", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 30 }), async (order) => {
        const store = new FakeLeaseStore();
        await store.create(record("seed"));
        // every elector reads, then all try to update in the given order
        const clients = new Map(["a", "b", "c"].map((n) => [n, store.client(n)]));
        const reads = new Map<string, LeaseRecord>();
        for (const [name, client] of clients) {
          const r = await client.read();
          if (r.ok && r.value !== undefined) reads.set(name, r.value);
        }
        const winners: string[] = [];
        for (const name of order) {
          const seen = reads.get(name);
          const client = clients.get(name);
          if (seen === undefined || client === undefined) continue;
          const result = await client.update({ ...seen, holderIdentity: name });
          if (result.ok) {
            winners.push(name);
            reads.set(name, result.value);
          }
        }
        // only the first updater wins the shared version; later wins need its own fresh version
        expect(winners.length).toBeGreaterThanOrEqual(1);
        expect(winners.every((w) => w === order[0])).toBe(true);
        expect(store.current()?.holderIdentity).toBe(order[0]);
      }),
      { numRuns: 100 },
    );
  });
});
