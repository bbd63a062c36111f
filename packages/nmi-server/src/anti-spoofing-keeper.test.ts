import { afterEach, describe, expect, it } from "vitest";
import { ok, type PodAttachment } from "@podid/core";
import { FakeCluster, FakeTokenSource, RecordingEventRecorder, RecordingLogger, RecordingMetrics, TEST_NODE, VirtualClock, bindPod, tokenUrl } from "@podid/testkit";
import { AntiSpoofingKeeper, CallerInterfaces, type AntiSpoofingPort } from "./anti-spoofing-keeper.js";
import { defineNmiConfig } from "./config/nmi-config.js";
import { NMI_METRIC } from "./nmi-metrics.js";
import { RecordingForwarder } from "./test-support/nmi-harness.js";
import { createNmiServer, type NmiApp } from "./token-path/1-http-entry.js";

/** A port whose node "has" the interfaces in `resolvable`; records every sync. */
class FakeAntiSpoofing implements AntiSpoofingPort {
  readonly resolvable = new Map<string, PodAttachment>();
  readonly syncs: string[][] = [];
  removed = 0;
  async sync(podIps: Iterable<string>) {
    const ips = [...podIps];
    this.syncs.push(ips);
    const bound = new Map(ips.flatMap((ip) => { const a = this.resolvable.get(ip); return a === undefined ? [] : [[ip, a] as const]; }));
    const unresolved = new Map(ips.filter((ip) => !bound.has(ip)).map((ip) => [ip, "no /32 route to a pod interface and no bridge neighbour entry for the IP"] as const));
    return ok({ resolution: { bound, unresolved }, applied: true });
  }
  async remove() {
    this.removed += 1;
    return ok(undefined);
  }
}

let app: NmiApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function setup() {
  const clock = new VirtualClock();
  const cluster = new FakeCluster({ clock });
  const tokens = new FakeTokenSource({ clock });
  const logger = new RecordingLogger({ clock });
  const metrics = new RecordingMetrics();
  const events = new RecordingEventRecorder({ clock });
  const port = new FakeAntiSpoofing();
  const state = new CallerInterfaces();
  const config = defineNmiConfig({ nodeName: TEST_NODE });
  const server = createNmiServer(config, { kube: cluster, tokenSource: tokens, clock, logger, metrics, forwarder: new RecordingForwarder(), events, callerInterfaces: state });
  app = server.app;
  const keeper = new AntiSpoofingKeeper({ port, state, kube: cluster, nodeName: TEST_NODE, clock, logger, metrics, events, intervalMs: 60_000, settleMs: 1_000 });
  return { clock, cluster, tokens, logger, metrics, events, port, state, keeper, app: server.app };
}

describe("anti-spoofing in the token path", () => {
  it("a pod whose interface is resolved gets its token; the keeper synced this node's pod IPs", async () => {
    const s = setup();
    bindPod(s, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    s.port.resolvable.set("10.0.0.5", { kind: "routed", interface: "veth5" });
    await s.keeper.start();
    expect(s.port.syncs.at(-1)).toEqual(["10.0.0.5"]);
    const res = await s.app.inject({ url: tokenUrl(), headers: { Metadata: "true" }, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(200);
    await s.keeper.stop();
  });

  it("a pod whose interface cannot be resolved gets an IMDS-shaped 500 with the reason, a Warning Event and a metric — never a token", async () => {
    const s = setup();
    const { pod } = bindPod(s, { pod: "app", ip: "10.0.0.6", identity: "id-a" });
    await s.keeper.start();
    const pending = s.app.inject({ url: tokenUrl(), headers: { Metadata: "true" }, remoteAddress: "10.0.0.6" });
    // The request waits (bounded) for one prompt re-sync; the node still cannot resolve the IP.
    for (let i = 0; i < 40 && s.port.syncs.length < 2; i += 1) await s.clock.advanceAsync(10);
    await s.clock.advanceAsync(1_000);
    const res = await pending;
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toEqual({
      error: "server_error",
      error_description: "the network interface of the pod with IP 10.0.0.6 could not be resolved on this node; refusing to guess",
    });
    expect(s.tokens.calls.length).toBe(0);
    expect(s.events.find({ reason: "PodInterfaceUnresolved" })).toEqual([
      expect.objectContaining({ type: "Warning", object: expect.objectContaining({ kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name }) }),
    ]);
    expect(s.metrics.counter(NMI_METRIC.interfaceUnresolvedRefusals)).toBe(1);
    expect(s.metrics.gauge(NMI_METRIC.unresolvedInterfaces)).toBe(1);
    await s.keeper.stop();
  });

  it("a request from a new pod waits for the prompt re-sync and is then served (no 500 for a pod that just appeared)", async () => {
    const s = setup();
    await s.keeper.start();
    bindPod(s, { pod: "late", ip: "10.0.0.7", identity: "id-b" });
    s.port.resolvable.set("10.0.0.7", { kind: "bridged", bridge: "cbr0", port: "veth7", mac: "02:00:00:00:00:07" });
    const pending = s.app.inject({ url: tokenUrl(), headers: { Metadata: "true" }, remoteAddress: "10.0.0.7" });
    // The prompt re-sync starts MIN_PROMPT_GAP_MS after the previous one (bounded read rate), well within settleMs.
    for (let i = 0; i < 30 && !s.state.isBound("10.0.0.7"); i += 1) await s.clock.advanceAsync(10);
    const res = await pending;
    expect(res.statusCode).toBe(200);
    await s.keeper.stop();
  });

  it("re-syncs on pod events (debounced) and every interval; stop('remove') deletes the rules, failClosed keeps them", async () => {
    const s = setup();
    await s.keeper.start();
    const before = s.port.syncs.length;
    bindPod(s, { pod: "a", ip: "10.0.0.8", identity: "id-c" });
    bindPod(s, { pod: "b", ip: "10.0.0.9", identity: "id-d" });
    await s.clock.advanceAsync(150);
    expect(s.port.syncs.length).toBe(before + 1);
    expect(s.port.syncs.at(-1)?.sort()).toEqual(["10.0.0.8", "10.0.0.9"]);
    await s.clock.advanceAsync(60_000);
    expect(s.port.syncs.length).toBe(before + 2);
    await s.keeper.stop("failClosed");
    expect(s.port.removed).toBe(0);
    await s.keeper.stop("remove");
    expect(s.port.removed).toBe(1);
  });
});
