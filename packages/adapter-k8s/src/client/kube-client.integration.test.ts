import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "@podid/testkit";
import { KubeClient } from "./kube-client.js";
import { loadKubeConfig } from "./kube-config.js";

describe("KubeClient against the fake kube-apiserver", () => {
  let server: FakeKubeApiServer;
  beforeAll(async () => {
    server = await FakeKubeApiServer.start({ token: "t0ken" });
  });
  afterAll(async () => {
    await server.close();
  });
  const client = (options: { qps?: number; burst?: number; maxConcurrentWrites?: number; requestTimeoutMs?: number } = {}): KubeClient =>
    new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), ...options });

  it("(e) the QPS limit bounds the request rate the server sees (burst, then qps)", async () => {
    const qps = 20;
    const burst = 3;
    const limited = client({ qps, burst });
    const n = 15;
    server.clearRequests();
    const started = performance.now();
    await Promise.all(Array.from({ length: n }, () => limited.core.listNamespace()));
    const elapsedMs = performance.now() - started;
    expect(server.requests.filter((r) => r.path === "/api/v1/namespaces")).toHaveLength(n);
    expect(limited.requestsSent).toBe(n);
    // n requests at qps with a burst need at least (n - burst) / qps seconds: 600 ms here.
    expect(elapsedMs).toBeGreaterThanOrEqual(((n - burst) / qps) * 1000 - 20);
    expect(elapsedMs).toBeLessThan(((n - burst) / qps) * 1000 + 1500);

    // The same load unthrottled finishes far faster: the wait above came from the limiter.
    const free = client({ qps: Number.POSITIVE_INFINITY });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => free.core.listNamespace()));
    expect(performance.now() - t0).toBeLessThan(((n - burst) / qps) * 1000 / 2);
  });

  it("uses the default QPS of the original (5, burst 5) when none is given", () => {
    const c = client();
    expect(c.rateLimiter.qps).toBe(5);
    expect(c.rateLimiter.burst).toBe(5);
    expect(c.writeLimiter.limit).toBe(20);
  });

  it("a client of its own does not wait behind another client's queue", async () => {
    const busy = client({ qps: 2, burst: 1 });
    const own = busy.withOwnRateLimit({ qps: 50 });
    const backlog = Promise.all(Array.from({ length: 5 }, () => busy.core.listNamespace())); // ~2 s of queue
    const t0 = performance.now();
    await own.coordination.listNamespacedLease({ namespace: "default" });
    expect(performance.now() - t0).toBeLessThan(300);
    await backlog;
  }, 10_000);

  it("gives every request a deadline, so a server that never answers cannot hang the caller", async () => {
    server.delay(3000);
    try {
      const impatient = client({ qps: Number.POSITIVE_INFINITY, requestTimeoutMs: 150 });
      const t0 = performance.now();
      await expect(impatient.core.listNamespace()).rejects.toThrow();
      expect(performance.now() - t0).toBeLessThan(1500);
      // A per-call deadline (as the Lease store uses) wins over a longer client deadline.
      const patient = client({ qps: Number.POSITIVE_INFINITY, requestTimeoutMs: 10_000 });
      const t1 = performance.now();
      await expect(patient.core.listNamespace(undefined, patient.deadlineOptions(50))).rejects.toThrow();
      expect(performance.now() - t1).toBeLessThan(1500);
    } finally {
      server.delay(undefined);
    }
  });

  it("authenticates with the kubeconfig's bearer token", async () => {
    const ok = await client({ qps: Number.POSITIVE_INFINITY }).core.listNamespace();
    expect(ok.items.map((n) => n.metadata?.name)).toContain("default");
    const anonymous = new KubeClient({
      kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig().replace("t0ken", "wrong") }),
      qps: Number.POSITIVE_INFINITY,
    });
    await expect(anonymous.core.listNamespace()).rejects.toMatchObject({ code: 401 });
  });
});
