import { afterEach, describe, expect, it } from "vitest";
import type { TokenSourcePort } from "@podid/core";
import { FakeCluster, FakeTokenSource, RecordingLogger, RecordingMetrics, VirtualClock } from "@podid/testkit";
import { bindPod, makeAssigned, makeBinding, makeIdentity, makePod, TEST_NODE, tokenUrl } from "@podid/testkit";
import { createHarness, RecordingForwarder, type NmiHarness } from "../test-support/nmi-harness.js";
import { createNmiServer, type NmiApp } from "./1-http-entry.js";
import { defineNmiConfig } from "../config/nmi-config.js";

const META = { Metadata: "true" };
let h: NmiHarness | undefined;
let app: NmiApp | undefined;

afterEach(async () => {
  await h?.app.close();
  await app?.close();
  h = undefined;
  app = undefined;
});

/** K pods sharing one identity (one binding selector), each with its AAI, IPs 10.1.0.1… */
function sharedIdentityPods(harness: NmiHarness, k: number): string[] {
  const identity = harness.cluster.apply("azureidentities", makeIdentity({ name: "shared" }));
  const binding = harness.cluster.apply("azureidentitybindings", makeBinding(identity, "shared-sel"));
  harness.tokens.allow(identity.spec.resourceID);
  const ips: string[] = [];
  for (let i = 0; i < k; i++) {
    const ip = `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const pod = harness.cluster.apply("pods", makePod({ name: `pod-${i}`, ip, selector: "shared-sel" }));
    harness.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding));
    ips.push(ip);
  }
  return ips;
}

describe("token cache per (identity, resource)", () => {
  it("K pods × M concurrent requests cost one upstream call (single flight), then hits", async () => {
    h = createHarness({ tokenLatencyMs: 200, config: { podRateLimitPerSecond: 0 } });
    const ips = sharedIdentityPods(h, 20);
    const burst = ips.flatMap((ip) => Array.from({ length: 5 }, () => h!.app.inject({ url: tokenUrl(), headers: META, remoteAddress: ip })));
    for (let i = 0; i < 100 && h.tokens.counts().calls === 0; i++) await h.clock.advanceAsync(50);
    const responses = await Promise.all(burst);
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    expect(new Set(responses.map((r) => JSON.parse(r.body)["access_token"])).size).toBe(1);
    expect(h.tokens.counts().calls).toBe(1);
    for (const ip of ips) {
      const res = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: ip });
      expect(res.statusCode).toBe(200);
    }
    expect(h.tokens.counts().calls).toBe(1);
    expect(h.metrics.counter("podid_nmi_token_cache_requests_total", { result: "joined" })).toBe(99);
    expect(h.metrics.counter("podid_nmi_token_cache_requests_total", { result: "hit" })).toBe(20);
    const audits = h.logger.findAll("nmi decision");
    expect(audits.filter((a) => a.fields["cacheHit"] === true)).toHaveLength(20);
  });

  it("a different resource is a different token", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    for (const resource of ["https://management.azure.com/", "https://vault.azure.net", "https://management.azure.com/", " https://vault.azure.net "]) {
      expect((await h.app.inject({ url: tokenUrl(resource), headers: META, remoteAddress: "10.0.0.5" })).statusCode).toBe(200);
    }
    expect(h.tokens.counts().calls).toBe(2);
  });

  it("refreshes ahead of expiry in the background: one upstream call per refresh window, callers never wait", async () => {
    h = createHarness({ tokenLifetimeSeconds: 3600 });
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const ask = () => h!.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    const first = JSON.parse((await ask()).body)["access_token"];
    // 80 % of the lifetime: the next hit starts a refresh and is still served the old token.
    await h.clock.advanceAsync(2_900_000);
    const during = await ask();
    expect(JSON.parse(during.body)["access_token"]).toBe(first);
    await h.clock.advanceAsync(1);
    expect(h.tokens.counts().calls).toBe(2);
    const after = await ask();
    expect(JSON.parse(after.body)["access_token"]).not.toBe(first);
    expect(h.tokens.counts().calls).toBe(2);
    expect(h.metrics.counter("podid_nmi_token_cache_requests_total", { result: "refresh" })).toBe(1);
  });

  it("drops an identity's tokens when its AzureIdentity changes", async () => {
    h = createHarness();
    const { identity } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const ask = () => h!.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await ask();
    await ask();
    expect(h.tokens.counts().calls).toBe(1);
    h.cluster.apply("azureidentities", { ...identity, metadata: { ...identity.metadata, annotations: { touched: "yes" } } });
    await ask();
    expect(h.tokens.counts().calls).toBe(2);
    // Without its live AzureIdentity the AAI grants nothing: refused, never fetched from the AAI's embedded copy.
    h.cluster.remove("azureidentities", "default", "id-a");
    expect((await ask()).statusCode).toBe(404);
    expect(h.tokens.counts().calls).toBe(2);
  });
});

describe("upstream budget (15 requests/s, 4 concurrent: a margin below IMDS's 20 and 5)", () => {
  it("never exceeds 4 concurrent or 15 starts per second (core's margin below IMDS's 5 and 20), queues, then answers 429 + Retry-After", async () => {
    const clock = new VirtualClock();
    const cluster = new FakeCluster({ clock });
    const fake = new FakeTokenSource({ clock, latencyMs: 300 });
    let inFlight = 0;
    let maxInFlight = 0;
    const starts: number[] = [];
    const tokenSource: TokenSourcePort = {
      acquire: async (request, signal) => {
        starts.push(clock.now());
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          return await fake.acquire(request, signal);
        } finally {
          inFlight -= 1;
        }
      },
    };
    const harness = { cluster, tokens: fake };
    bindPod(harness, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    app = createNmiServer(
      defineNmiConfig({ nodeName: TEST_NODE, podRateLimitPerSecond: 0 }),
      { kube: cluster, tokenSource, clock, logger: new RecordingLogger(), metrics: new RecordingMetrics(), forwarder: new RecordingForwarder() },
    ).app;
    // 100 distinct resources at once: 4 start, 64 queue, 32 are refused at once.
    let settled = 0;
    const requests = Array.from({ length: 100 }, (_, i) =>
      app!.inject({ url: tokenUrl(`https://api-${i}.example/`), headers: META, remoteAddress: "10.0.0.5" }).finally(() => (settled += 1)),
    );
    for (let i = 0; i < 400 && settled < 100; i++) await clock.advanceAsync(50);
    const responses = await Promise.all(requests);
    const byStatus = new Map<number, number>();
    for (const r of responses) byStatus.set(r.statusCode, (byStatus.get(r.statusCode) ?? 0) + 1);
    expect(byStatus.get(200)).toBe(68);
    expect(byStatus.get(429)).toBe(32);
    const refused = responses.find((r) => r.statusCode === 429);
    expect(Number(refused?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    for (const t of starts) expect(starts.filter((s) => s >= t && s <= t + 1000).length).toBeLessThanOrEqual(15);
    expect(starts).toHaveLength(68);
  });
});

describe("per-pod rate limit", () => {
  it("answers 429 + Retry-After past a pod's burst, without affecting other pods", async () => {
    h = createHarness({ config: { podRateLimitPerSecond: 5, podRateBurst: 20 } });
    bindPod(h, { pod: "noisy", ip: "10.0.0.5", identity: "id-a" });
    bindPod(h, { pod: "quiet", ip: "10.0.0.6", identity: "id-b" });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" })).statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    const limited = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(limited.statusCode).toBe(429);
    expect(JSON.parse(limited.body)).toMatchObject({ error: "too_many_requests" });
    expect(limited.headers["retry-after"]).toBe("1");
    expect((await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.6" })).statusCode).toBe(200);
    await h.clock.advanceAsync(1000);
    expect((await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" })).statusCode).toBe(200);
    expect(h.metrics.counter("podid_nmi_rate_limited_total", { scope: "pod" })).toBe(6);
  });
});
