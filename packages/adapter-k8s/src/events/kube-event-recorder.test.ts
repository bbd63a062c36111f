import { describe, expect, it } from "vitest";
import { RecordingLogger, RecordingMetrics, VirtualClock } from "@podid/testkit";
import { KubeClient, type KubeRequestOptions } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import type { KubeHttpRequest } from "../client/kube-http.js";
import { KubeEventRecorder } from "./kube-event-recorder.js";

/** Never contacted: requests are answered in memory after the client's real rate limit. */
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: u, user: {} }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;

interface Sent {
  readonly atMs: number;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

/** A KubeClient on a virtual clock: its own token bucket decides when each request goes; answers are `{}`. */
class InMemoryKubeClient extends KubeClient {
  readonly sent: Sent[] = [];

  constructor(clock: VirtualClock, qps: number) {
    super({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: KUBECONFIG }), clock, qps });
  }

  override async request(request: KubeHttpRequest | (() => KubeHttpRequest), options: KubeRequestOptions = {}): Promise<unknown> {
    await this.beforeRequest(options.requestClass);
    const resolved = typeof request === "function" ? request() : request;
    this.sent.push({ atMs: this.clock.now(), method: resolved.method, path: resolved.path, body: resolved.body });
    return {};
  }
}

const binding = (i: number) => ({ kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "ns", name: `b-${i}` });

/** `count` AAI-style writes sent as one burst, as MIC's writer sends them (one `work` request each). */
function workBurst(client: InMemoryKubeClient, count: number): Promise<unknown>[] {
  return Array.from({ length: count }, (_, i) => client.request({ method: "POST", path: `/aai/${i}` }));
}

describe("KubeEventRecorder's place in the client's rate limit", () => {
  it("never delays a write MIC needs: a burst of AAI writes ends when it would without Events", async () => {
    const finish = async (withEvents: boolean): Promise<{ lastWorkMs: number; events: number }> => {
      const clock = new VirtualClock({ startMs: 0 });
      const client = new InMemoryKubeClient(clock, 10);
      const recorder = new KubeEventRecorder({ client });
      const writes = workBurst(client, 20);
      // An Event per binding recorded while the burst waits: 10 creates that must not take the burst's tokens.
      if (withEvents) for (let i = 0; i < 10; i++) recorder.record(binding(i), "Normal", "binding applied", `pod ${i}`);
      writes.push(...workBurst(client, 20));
      await clock.runUntilIdleAsync();
      await Promise.all(writes);
      await recorder.flush();
      const work = client.sent.filter((s) => s.path.startsWith("/aai/"));
      return { lastWorkMs: Math.max(...work.map((s) => s.atMs)), events: client.sent.length - work.length };
    };
    const without = await finish(false);
    const withEvents = await finish(true);
    expect(withEvents.events).toBe(10);
    // 40 writes at 10 QPS with a burst of 10: the last one 3 s after the start, Events or not.
    expect(without.lastWorkMs).toBe(3_000);
    expect(withEvents.lastWorkMs).toBe(without.lastWorkMs);
  });

  it("writes a queued Event once with every repeat recorded while it waited", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const client = new InMemoryKubeClient(clock, 10);
    const recorder = new KubeEventRecorder({ client });
    const writes = workBurst(client, 30);
    for (let i = 0; i < 5; i++) {
      recorder.record(binding(0), "Warning", "binding apply error", "throttled");
      await clock.advanceAsync(100);
    }
    await clock.runUntilIdleAsync();
    await Promise.all(writes);
    await recorder.flush();
    const events = client.sent.filter((s) => s.path.endsWith("/events"));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ method: "POST", body: { count: 5, reason: "binding apply error" } });
    // It went only after the last AAI write (30 writes at 10 QPS, burst 10: the last at 2 s).
    expect(events[0]!.atMs).toBeGreaterThan(2_000);
    expect(recorder.stats()).toEqual({ writes: 1, dropped: 0, queued: 0 });
  });

  it("drops new Events beyond its queue, counts them in the metric and logs once per interval", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const client = new InMemoryKubeClient(clock, 10);
    const logger = new RecordingLogger();
    const metrics = new RecordingMetrics();
    const recorder = new KubeEventRecorder({
      client,
      logger,
      maxQueuedEvents: 5,
      maxConcurrentWrites: 1,
      dropLogIntervalMs: 60_000,
      metrics: { port: metrics, droppedMetric: "podid_mic_events_dropped_total" },
    });
    // A long burst of work keeps every token busy for 10 s.
    const writes = workBurst(client, 110);
    for (let i = 0; i < 20; i++) recorder.record(binding(i), "Normal", "binding applied", `pod ${i}`);
    // One writer holds the oldest Event while it waits for a token, five more queue: 14 dropped.
    expect(recorder.stats()).toEqual({ writes: 0, dropped: 14, queued: 5 });
    expect(metrics.counter("podid_mic_events_dropped_total")).toBe(14);
    expect(logger.findAll(/event queue full/)).toHaveLength(1);
    // A repeat of a queued Event costs no queue room.
    recorder.record(binding(1), "Normal", "binding applied", "pod 1");
    expect(recorder.stats().dropped).toBe(14);
    await clock.advanceAsync(61_000);
    recorder.record(binding(99), "Normal", "binding applied", "pod 99");
    await clock.runUntilIdleAsync();
    await Promise.all(writes);
    await recorder.flush();
    expect(recorder.stats()).toEqual({ writes: 7, dropped: 14, queued: 0 });
    // The writes left room by then: binding 99 was written; a dropped Event recorded again is created afresh.
    recorder.record(binding(19), "Normal", "binding applied", "pod 19");
    await clock.runUntilIdleAsync();
    await recorder.flush();
    const events = client.sent.filter((s) => s.path.endsWith("/events"));
    expect(events.map((e) => e.method)).toEqual(Array.from({ length: 8 }, () => "POST"));
    expect(events.at(-1)?.body).toMatchObject({ involvedObject: { name: "b-19" }, count: 1 });
    expect(events.find((e) => (e.body as { involvedObject: { name: string } }).involvedObject.name === "b-1")?.body).toMatchObject({ count: 2 });
    expect(logger.findAll(/event queue full/)).toHaveLength(1);
  });
});
