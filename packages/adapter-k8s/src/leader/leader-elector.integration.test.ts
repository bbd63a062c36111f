import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultLeaderElectionConfig, err, type KubeError, type LeaseRecord, type LeaseStorePort, type Result } from "@podid/core";
import { FakeKubeApiServer } from "@podid/testkit";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { KubeLeaseStore } from "./kube-lease-store.js";
import { LeaderElector } from "./leader-elector.js";
import { createMicLeaderElector } from "./mic-leader-election.js";

/**
 * 1 s lease → renew deadline 500 ms, retry period 250 ms. (The Lease advertises whole seconds, and
 * followers honour the longer of the advertised and their own duration, so a shorter configured lease
 * would still be held for 1 s.)
 */
const LEASE_MS = 1000;
const RETRY_MS = 250;
const JITTER = 0.1;
/** HTTP round trips and timer slop on a loaded 2-core CI machine. */
const SLACK_MS = 250;

/** A store whose network can be cut: every call fails as if the API server were unreachable. */
class SeverableStore implements LeaseStorePort {
  cut = false;
  readonly #inner: LeaseStorePort;
  constructor(inner: LeaseStorePort) {
    this.#inner = inner;
  }
  #down(): Result<never, KubeError> {
    return err({ kind: "transient", message: "connect ECONNREFUSED (test partition)" });
  }
  read(): Promise<Result<LeaseRecord | undefined, KubeError>> {
    return this.cut ? Promise.resolve(this.#down()) : this.#inner.read();
  }
  create(record: Omit<LeaseRecord, "resourceVersion">): Promise<Result<LeaseRecord, KubeError>> {
    return this.cut ? Promise.resolve(this.#down()) : this.#inner.create(record);
  }
  update(record: LeaseRecord): Promise<Result<LeaseRecord, KubeError>> {
    return this.cut ? Promise.resolve(this.#down()) : this.#inner.update(record);
  }
}

describe("LeaderElector over a real Lease on the fake kube-apiserver", () => {
  let server: FakeKubeApiServer;
  beforeAll(async () => {
    server = await FakeKubeApiServer.start();
  });
  afterAll(async () => {
    await server.close();
  });

  function candidate(identity: string, lockName: string): { elector: LeaderElector; store: SeverableStore; changes: [number, boolean][] } {
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: 50 }).withOwnRateLimit({ qps: 20 });
    const config = { ...defaultLeaderElectionConfig(identity, LEASE_MS), lockName };
    const store = new SeverableStore(new KubeLeaseStore({ client, name: config.lockName, namespace: config.lockNamespace, requestTimeoutMs: RETRY_MS }));
    const elector = new LeaderElector({ store, config, jitter: JITTER });
    const changes: [number, boolean][] = [];
    elector.onLeadershipChange((leading) => changes.push([Date.now(), leading]));
    return { elector, store, changes };
  }

  /** Samples both electors every 5 ms for `ms`; fails on any instant with two leaders. Returns when each was last/first seen leading. */
  async function watchSafety(electors: readonly LeaderElector[], ms: number, stopWhen?: () => boolean): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const leading = electors.filter((e) => e.isLeader()).map((e) => e.identity);
      expect(leading.length, `two leaders at once: ${leading.join(", ")}`).toBeLessThanOrEqual(1);
      if (stopWhen?.() === true) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it("(c) never two leaders; failover within one lease duration (+ retry period) after the leader stops renewing", async () => {
    const a = candidate("mic-a", "c-lock");
    const b = candidate("mic-b", "c-lock");
    try {
      a.elector.start();
      b.elector.start();
      await watchSafety([a.elector, b.elector], LEASE_MS);
      const leader = a.elector.isLeader() ? a : b;
      const follower = leader === a ? b : a;
      expect(leader.elector.isLeader()).toBe(true);
      const lease = await new KubeLeaseStore({
        client: new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY }),
        name: "c-lock",
        namespace: "default",
      }).read();
      expect(lease.ok && lease.value?.holderIdentity).toBe(leader.elector.identity);
      expect(lease.ok && lease.value?.leaseDurationSeconds).toBe(1);

      // The leader's network goes: it cannot renew, but keeps running and keeps believing whatever it may.
      leader.store.cut = true;
      const cutAt = Date.now();
      await watchSafety([a.elector, b.elector], 3 * LEASE_MS, () => follower.elector.isLeader());
      const failoverMs = Date.now() - cutAt;
      expect(follower.elector.isLeader()).toBe(true);
      expect(failoverMs).toBeLessThanOrEqual(LEASE_MS + RETRY_MS * (1 + JITTER) + SLACK_MS);
      // The cut-off leader had already stepped down at its renew deadline, and told its listener.
      const lost = leader.changes.find(([, leading]) => !leading);
      expect(lost).toBeDefined();
      expect(lost![0] - cutAt).toBeLessThanOrEqual(LEASE_MS / 2 + SLACK_MS);

      // Healing the old leader does not bring it back while the new one renews.
      leader.store.cut = false;
      await watchSafety([a.elector, b.elector], LEASE_MS);
      expect(follower.elector.isLeader()).toBe(true);
      expect(leader.elector.isLeader()).toBe(false);
    } finally {
      await a.elector.stop();
      await b.elector.stop();
    }
  }, 20_000);

  it("a leader that stops releases the Lease and the follower takes over on its next retry", async () => {
    const a = candidate("mic-a", "release-lock");
    const b = candidate("mic-b", "release-lock");
    try {
      a.elector.start();
      await watchSafety([a.elector], LEASE_MS, () => a.elector.isLeader());
      expect(a.elector.isLeader()).toBe(true);
      b.elector.start();
      await watchSafety([a.elector, b.elector], LEASE_MS);
      expect(b.elector.observedHolder).toBe("mic-a");
      const stoppedAt = Date.now();
      await a.elector.stop();
      expect(a.changes.map(([, l]) => l)).toEqual([true, false]);
      await watchSafety([a.elector, b.elector], 2 * LEASE_MS, () => b.elector.isLeader());
      expect(b.elector.isLeader()).toBe(true);
      // Well before the lease would have expired on its own.
      expect(Date.now() - stoppedAt).toBeLessThan(RETRY_MS * (1 + JITTER) + SLACK_MS);
    } finally {
      await a.elector.stop();
      await b.elector.stop();
    }
  }, 20_000);

  it("MIC's defaults: Lease default/aad-pod-identity-mic, 15 s advertised", async () => {
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }) });
    const elector = createMicLeaderElector({ client, identity: "mic-0" });
    const changes: boolean[] = [];
    elector.onLeadershipChange((leading) => changes.push(leading));
    try {
      elector.start();
      await watchSafety([elector], 3000, () => elector.isLeader());
      expect(elector.isLeader()).toBe(true);
      const lease = server.store.get("leases", "aad-pod-identity-mic", "default");
      expect(lease?.["spec"]).toMatchObject({ holderIdentity: "mic-0", leaseDurationSeconds: 15, leaseTransitions: 0 });
    } finally {
      await elector.stop();
    }
    expect(changes).toEqual([true, false]);
    expect(server.store.get("leases", "aad-pod-identity-mic", "default")?.["spec"]).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
  });

  it("maps Lease conflicts: a stale resourceVersion and a lost create race are both conflicts", async () => {
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
    const store = new KubeLeaseStore({ client, name: "race", namespace: "default" });
    expect(await store.read()).toEqual({ ok: true, value: undefined });
    const record = { holderIdentity: "x", leaseDurationSeconds: 15, acquireTime: 1_700_000_000_123, renewTime: 1_700_000_000_456, leaseTransitions: 0 };
    const created = await store.create(record);
    expect(created).toMatchObject({ ok: true, value: record });
    expect(await store.create(record)).toMatchObject({ ok: false, error: { kind: "conflict", alreadyExists: true } });
    if (!created.ok) return;
    const renewed = await store.update({ ...created.value, renewTime: 1_700_000_001_000 });
    expect(renewed).toMatchObject({ ok: true, value: { renewTime: 1_700_000_001_000 } });
    expect(await store.update({ ...created.value, holderIdentity: "y" })).toMatchObject({ ok: false, error: { kind: "conflict", alreadyExists: false } });
    // MicroTime on the wire, as the API server requires.
    const raw = server.store.get("leases", "race", "default");
    expect((raw?.["spec"] as { renewTime: string }).renewTime).toBe("2023-11-14T22:13:21.000000Z");
  });
});
