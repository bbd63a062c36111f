import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "@podid/testkit";
import { KubeClient } from "./kube-client.js";
import { KubeHttpError } from "./kube-http.js";
import { loadKubeConfig } from "./kube-config.js";

describe("KubeClient against the fake kube-apiserver", () => {
  let server: FakeKubeApiServer;
  beforeAll(async () => {
    server = await FakeKubeApiServer.start({ token: "t0ken" });
  });
  afterAll(async () => {
    await server.close();
  });
  const listNamespaces = (c: KubeClient, timeoutMs?: number): Promise<unknown> =>
    c.request({ method: "GET", path: "/api/v1/namespaces" }, timeoutMs === undefined ? {} : { timeoutMs });
  const client = (options: { qps?: number; burst?: number; maxConcurrentWrites?: number; requestTimeoutMs?: number } = {}): KubeClient =>
    new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), ...options });

  it("(e) the QPS limit bounds the request rate the server sees (burst, then qps)", async () => {
    const qps = 20;
    const burst = 3;
    const limited = client({ qps, burst });
    const n = 15;
    server.clearRequests();
    const started = performance.now();
    await Promise.all(Array.from({ length: n }, () => listNamespaces(limited)));
    const elapsedMs = performance.now() - started;
    expect(server.requests.filter((r) => r.path === "/api/v1/namespaces")).toHaveLength(n);
    expect(limited.requestsSent).toBe(n);
    // n requests at qps with a burst need at least (n - burst) / qps seconds: 600 ms here.
    expect(elapsedMs).toBeGreaterThanOrEqual(((n - burst) / qps) * 1000 - 20);
    expect(elapsedMs).toBeLessThan(((n - burst) / qps) * 1000 + 1500);

    // The same load unthrottled finishes far faster: the wait above came from the limiter.
    const free = client({ qps: Number.POSITIVE_INFINITY });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => listNamespaces(free)));
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
    const backlog = Promise.all(Array.from({ length: 5 }, () => listNamespaces(busy))); // ~2 s of queue
    const t0 = performance.now();
    await own.request({ method: "GET", path: "/apis/coordination.k8s.io/v1/namespaces/default/leases" });
    expect(performance.now() - t0).toBeLessThan(300);
    await backlog;
  }, 10_000);

  it("gives every request a deadline, so a server that never answers cannot hang the caller", async () => {
    server.delay(3000);
    try {
      const impatient = client({ qps: Number.POSITIVE_INFINITY, requestTimeoutMs: 150 });
      const t0 = performance.now();
      await expect(listNamespaces(impatient)).rejects.toThrow();
      expect(performance.now() - t0).toBeLessThan(1500);
      // A per-call deadline (as the Lease store uses) wins over a longer client deadline.
      const patient = client({ qps: Number.POSITIVE_INFINITY, requestTimeoutMs: 10_000 });
      const t1 = performance.now();
      await expect(listNamespaces(patient, 50)).rejects.toThrow();
      expect(performance.now() - t1).toBeLessThan(1500);
    } finally {
      server.delay(undefined);
    }
  });

  it("keeps a watch open past the request deadline, which bounds only the wait for the answer", async () => {
    const c = client({ qps: Number.POSITIVE_INFINITY, requestTimeoutMs: 150 });
    const abort = new AbortController();
    const stream = await c.openWatch("/api/v1/namespaces", { resourceVersion: "0" }, abort.signal);
    const lines: string[] = [];
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => lines.push(chunk));
    let failed: unknown;
    stream.on("error", (error) => (failed = error));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(failed).toBeUndefined();
    expect(stream.destroyed).toBe(false);
    await c.request({ method: "POST", path: "/api/v1/namespaces", body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "late-watch" } } });
    const deadline = Date.now() + 3000;
    while (!lines.join("").includes("late-watch") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines.join("")).toContain("late-watch");
    abort.abort();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.destroyed).toBe(true);

    server.delay(3000);
    try {
      const t0 = performance.now();
      await expect(c.openWatch("/api/v1/namespaces", {}, new AbortController().signal)).rejects.toThrow();
      expect(performance.now() - t0).toBeLessThan(1500);
    } finally {
      server.delay(undefined);
    }
  });

  it("authenticates with the kubeconfig's bearer token", async () => {
    const ok = (await listNamespaces(client({ qps: Number.POSITIVE_INFINITY }))) as { items: { metadata: { name: string } }[] };
    expect(ok.items.map((n) => n.metadata.name)).toContain("default");
    const anonymous = new KubeClient({
      kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig().replace("t0ken", "wrong") }),
      qps: Number.POSITIVE_INFINITY,
    });
    const refused = await listNamespaces(anonymous).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KubeHttpError);
    expect(refused).toMatchObject({ statusCode: 401 });
    expect(JSON.parse((refused as KubeHttpError).body)).toMatchObject({ kind: "Status", code: 401 });
  });
});

describe("KubeClient deadline on a slow answer", () => {
  /** A loopback server answering a list in `chunks` pieces `gapMs` apart, then (unless `stall`) ending it. */
  async function trickle(chunks: number, gapMs: number, stall = false): Promise<{ url: string; close: () => Promise<void> }> {
    const open = new Set<ServerResponse>();
    const server = createServer((_req, res) => {
      open.add(res);
      res.writeHead(200, { "Content-Type": "application/json" });
      const items = Array.from({ length: chunks }, (_, i) => JSON.stringify({ metadata: { name: `pod-${i}` } }));
      let sent = 0;
      const next = (): void => {
        if (res.destroyed) return;
        if (sent === chunks) {
          if (!stall) res.end(`]}`);
          return;
        }
        res.write(`${sent === 0 ? '{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[' : ","}${items[sent]}`);
        sent++;
        setTimeout(next, gapMs);
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => {
        for (const res of open) res.destroy();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }
  const clientFor = (url: string, requestTimeoutMs: number): KubeClient =>
    new KubeClient({
      kubeConfig: loadKubeConfig({
        kind: "yaml",
        yaml: JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "c", cluster: { server: url, "insecure-skip-tls-verify": true } }],
          users: [{ name: "u", user: {} }],
          contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
          "current-context": "ctx",
        }),
      }),
      qps: Number.POSITIVE_INFINITY,
      requestTimeoutMs,
    });

  it("completes a list whose body keeps arriving for longer than the deadline", async () => {
    // 8 pieces 100 ms apart: 700 ms in all, never 300 ms without progress.
    const server = await trickle(8, 100);
    try {
      const list = (await clientFor(server.url, 300).request({ method: "GET", path: "/api/v1/pods" })) as { items: unknown[] };
      expect(list.items).toHaveLength(8);
    } finally {
      await server.close();
    }
  });

  it("still cuts off an answer whose body stops arriving", async () => {
    const server = await trickle(2, 20, true);
    try {
      const t0 = performance.now();
      await expect(clientFor(server.url, 300).request({ method: "GET", path: "/api/v1/pods" })).rejects.toThrow();
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      await server.close();
    }
  });

  it("keeps a caller's own deadline a hard bound on the whole answer", async () => {
    const server = await trickle(8, 100);
    try {
      await expect(clientFor(server.url, 10_000).request({ method: "GET", path: "/api/v1/pods" }, { timeoutMs: 300 })).rejects.toThrow();
    } finally {
      await server.close();
    }
  });
});
