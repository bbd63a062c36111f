import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AzureTokenSource, metadataEndpoint } from "@podid/adapter-azure";
import { createNmiServer, defineNmiConfig, type NmiApp } from "@podid/nmi-server";
import { bindPod, FakeCluster, FakeCompute, FakeIdentityCatalog, FakeImdsServer, FakeTokenSource, identityArmId, RecordingLogger, RecordingMetrics, systemClock, TEST_NODE, tokenUrl } from "@podid/testkit";
import { timedGet } from "./load-processes.js";

/**
 * Issue #12 item 4, part 2: pods within their own limits cannot push NMI into IMDS's throttling nor starve
 * another pod. NMI (real HTTP, adapter-azure's IMDS token source) in front of testkit's limits-faithful fake
 * IMDS (20 requests/s and 5 concurrent per VM, 429 beyond; 50 ms per answer). Twelve pods, each
 * bound to its own user-assigned identity, each ask for a new resource — always a cache miss — at their per-pod limit: a burst of
 * 10, then one every 200 ms for 6 s. After 3 s a thirteenth pod asks for its first token. The fake must
 * never answer NMI 429, and that first token must arrive within one upstream latency + 1 s (+100 ms for
 * this shared process's own scheduling).
 */

const LATENCY_MS = 50;
const FLOODERS = 12;
const BURST = 10;
const PERIOD_MS = 200;
const FLOOD_MS = 6_000;
const VICTIM_AT_MS = 3_000;

let closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(closers.map((c) => c()));
  closers = [];
});

describe("upstream budget under 12 flooding pods", () => {
  it("IMDS never answers 429 and another pod's first token arrives within upstream latency + 1 s", { timeout: 30_000 }, async () => {
    const ips = Array.from({ length: FLOODERS + 1 }, (_, i) => `127.0.4.${String(i + 1)}`);
    const names = ips.map((_, i) => `identity-${String(i)}`);
    const compute = new FakeCompute();
    const target = compute.add(
      { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-000000000012", resourceGroup: "rg", name: "pool" },
      { systemAssigned: true, userAssigned: names.map(identityArmId) },
    );
    const catalog = new FakeIdentityCatalog();
    for (const name of names) catalog.register(identityArmId(name));
    const imds = await FakeImdsServer.start({ compute, target, catalog, latencyMs: LATENCY_MS });
    closers.push(() => imds.close());
    const cluster = new FakeCluster();
    ips.forEach((ip, i) => bindPod({ cluster, tokens: new FakeTokenSource() }, { pod: `pod-${String(i)}`, ip, identity: names[i]! }));
    const config = defineNmiConfig({ nodeName: TEST_NODE, metadataAddress: "127.0.0.1", metadataPort: imds.port, interception: "none" });
    const app: NmiApp = createNmiServer(config, {
      kube: cluster,
      tokenSource: new AzureTokenSource({ imds: { endpoint: metadataEndpoint("127.0.0.1", imds.port) } }),
      clock: systemClock,
      logger: new RecordingLogger(),
      metrics: new RecordingMetrics(),
    }).app;
    closers.push(() => app.close());
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as AddressInfo).port;

    const started = Date.now();
    const statuses: Record<string, number> = {};
    const floods: Promise<void>[] = [];
    let n = 0;
    for (const ip of ips.slice(0, FLOODERS)) {
      const ask = async (): Promise<void> => {
        n += 1;
        const r = await timedGet(port, tokenUrl(`https://flood-${String(n)}.example/`), { localAddress: ip, headers: { Metadata: "true" }, timeoutMs: 10_000 });
        statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
      };
      floods.push(
        (async () => {
          const mine: Promise<void>[] = [];
          for (let i = 0; i < BURST; i++) mine.push(ask());
          while (Date.now() - started < FLOOD_MS) {
            await new Promise((r) => setTimeout(r, PERIOD_MS));
            mine.push(ask());
          }
          await Promise.all(mine);
        })(),
      );
    }
    await new Promise((r) => setTimeout(r, VICTIM_AT_MS));
    const victim = await timedGet(port, tokenUrl("https://victim.example/"), { localAddress: ips[FLOODERS]!, headers: { Metadata: "true" }, timeoutMs: 10_000 });
    await Promise.all(floods);
    const counts = imds.counts();
    console.log(JSON.stringify({ victim, toPods: statuses, imds: { tokenRequests: counts.tokenRequests, throttled: counts.throttled, issued: counts.issued, peak: counts.peakConcurrentTokenRequests } }));

    expect(counts.throttled).toBe(0);
    expect(victim.status).toBe(200);
    expect(victim.ms).toBeLessThanOrEqual(LATENCY_MS + 1_000 + 100);
  });
});
