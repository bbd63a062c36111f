import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AssignedIdentityWireStatus } from "@podid/core";
import { decodeFakeJwt, FakeCluster, FakeTokenSource, RecordingLogger, RecordingMetrics, VirtualClock } from "@podid/testkit";
import { bindPod, makeAssigned, makeBinding, makeException, makeIdentity, makePod, TEST_NODE, tokenUrl } from "@podid/testkit";
import { createHarness, RecordingForwarder, type NmiHarness } from "../test-support/nmi-harness.js";
import { createNmiServer, type NmiApp } from "./1-http-entry.js";
import { DecisionMemo } from "./5-token-cache.js";
import { AUDIT_MESSAGE } from "./7-response-audit.js";
import { defineNmiConfig } from "../config/nmi-config.js";

const META = { Metadata: "true" };
let h: NmiHarness | undefined;
const apps: NmiApp[] = [];

afterEach(async () => {
  await h?.app.close();
  h = undefined;
  for (const app of apps.splice(0)) await app.close();
});

describe("DecisionMemo", () => {
  it("never stores a decision taken before the last invalidation", () => {
    const memo = new DecisionMemo<number>();
    const k = { source: "10.0.0.5", target: "/t" };
    const generation = memo.generation;
    memo.invalidate();
    memo.set(k, 1, generation);
    expect(memo.get(k)).toBeUndefined();
    memo.set(k, 2, memo.generation);
    expect(memo.get(k)).toBe(2);
    memo.invalidate();
    expect(memo.size).toBe(0);
  });

  it("keeps source and target apart: no two different pairs share an entry", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ source: fc.string({ maxLength: 4 }), target: fc.string({ maxLength: 4 }) }), { maxLength: 30 }), (keys) => {
        const memo = new DecisionMemo<string>();
        for (const k of keys) memo.set(k, `${k.source}|${k.target}`, memo.generation);
        for (const k of keys) expect(memo.get(k)).toBe(`${k.source}|${k.target}`);
        expect(memo.size).toBe(new Set(keys.map((k) => JSON.stringify([k.source, k.target]))).size);
      }),
    );
  });
  it("drops, on a pod change, only the sources naming the pod's addresses (as attribution normalises them)", () => {
    const memo = new DecisionMemo<string>((source) => (source.startsWith("::ffff:") ? source.slice(7) : source));
    memo.set({ source: "::ffff:10.0.0.5", target: "/a" }, "mapped", memo.generation);
    memo.set({ source: "10.0.0.5", target: "/b" }, "plain", memo.generation);
    memo.set({ source: "10.0.0.6", target: "/a" }, "other", memo.generation);
    const generation = memo.generation;
    memo.invalidateAddresses(new Set(["10.0.0.5"]));
    expect(memo.get({ source: "::ffff:10.0.0.5", target: "/a" })).toBeUndefined();
    expect(memo.get({ source: "10.0.0.5", target: "/b" })).toBeUndefined();
    expect(memo.get({ source: "10.0.0.6", target: "/a" })).toBe("other");
    expect(memo.size).toBe(1);
    // A decision taken before the change is not stored after it, whatever its address.
    memo.set({ source: "10.0.0.7", target: "/a" }, "late", generation);
    expect(memo.get({ source: "10.0.0.7", target: "/a" })).toBeUndefined();
  });
});

describe("memoised token decisions", () => {
  it("are dropped by any change of the objects they were taken from", async () => {
    h = createHarness({ config: { setRetryAfterHeader: true } });
    const { pod, identity, binding } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const ask = (headers: Record<string, string> = META) => h!.app.inject({ url: tokenUrl(), headers, remoteAddress: "10.0.0.5" });
    expect((await ask()).statusCode).toBe(200);
    expect((await ask()).statusCode).toBe(200);
    // Same target, different header facts: decided afresh.
    expect((await ask({})).statusCode).toBe(400);
    expect((await ask({ ...META, "X-Forwarded-For": "1.1.1.1" })).statusCode).toBe(400);
    // The AAI goes: the pod has no identity any more.
    h.cluster.remove("azureassignedidentities", "default", makeAssigned(pod, identity, binding).metadata.name);
    const afterRemoval = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(afterRemoval.statusCode).toBe(503);
  });

  it("are dropped for the addresses a pod held before a change, and kept for other pods' addresses", async () => {
    h = createHarness({ config: { setRetryAfterHeader: true } });
    const moving = bindPod(h, { pod: "moving", ip: "10.0.0.5", identity: "id-moving" });
    bindPod(h, { pod: "steady", ip: "10.0.0.6", identity: "id-steady" });
    const ask = (ip: string) => h!.app.inject({ url: tokenUrl(), headers: META, remoteAddress: ip });
    expect((await ask("10.0.0.5")).statusCode).toBe(200);
    expect((await ask("10.0.0.6")).statusCode).toBe(200);
    // The pod moves to another address: its old address now belongs to no pod.
    h.cluster.apply("pods", { ...moving.pod, podIP: "10.0.0.7", podIPs: ["10.0.0.7"] });
    expect((await ask("10.0.0.5")).statusCode).toBe(500);
    expect(decodeFakeJwt(JSON.parse((await ask("10.0.0.7")).body)["access_token"]).appid).toBe(moving.identity.spec.clientID);
    // The other pod's decision was kept: answering it reads nothing from the caches.
    const reads = vi.spyOn(h.cluster, "list");
    expect((await ask("10.0.0.6")).statusCode).toBe(200);
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
  });

  it("do not survive the pod being replaced by another one with the same IP", async () => {
    h = createHarness({ config: { setRetryAfterHeader: true } });
    const first = bindPod(h, { pod: "first", ip: "10.0.0.5", identity: "id-first" });
    expect(decodeFakeJwt(JSON.parse((await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" })).body)["access_token"]).appid).toBe(
      first.identity.spec.clientID,
    );
    h.cluster.remove("pods", "default", "first");
    h.cluster.apply("pods", makePod({ name: "second", ip: "10.0.0.5", selector: "unbound" }));
    const res = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(503);
  });

  it("give the same answers as deciding every request afresh (differential, random cluster changes)", async () => {
    const ips = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    const seen = new Map<number, number>();
    const identities = ["id-x", "id-y"];
    const change = fc.oneof(
      fc.record({ kind: fc.constant("pod" as const), ip: fc.constantFrom(...ips), name: fc.constantFrom("p1", "p2", "p3"), uid: fc.constantFrom("u1", "u2", "u3", "u4"), selector: fc.constantFrom("id-x-sel", "id-y-sel", "none"), label: fc.boolean() }),
      fc.record({ kind: fc.constant("removePod" as const), name: fc.constantFrom("p1", "p2", "p3") }),
      fc.record({ kind: fc.constant("aai" as const), name: fc.constantFrom("p1", "p2", "p3"), identity: fc.constantFrom(...identities), status: fc.constantFrom<AssignedIdentityWireStatus>("Created", "Assigned", "") }),
      fc.record({ kind: fc.constant("removeAai" as const), name: fc.constantFrom("p1", "p2", "p3"), identity: fc.constantFrom(...identities) }),
      fc.record({ kind: fc.constant("exception" as const), on: fc.boolean() }),
    );
    const ask = fc.record({ kind: fc.constant("ask" as const), ip: fc.constantFrom(...ips), selector: fc.constantFrom("", "&client_id=X", "&client_id=Y"), metadata: fc.boolean() });
    const opening = [
      { kind: "pod" as const, ip: "10.0.0.1", name: "p1", uid: "u1", selector: "id-x-sel", label: false },
      { kind: "aai" as const, name: "p1", identity: "id-x", status: "Assigned" as AssignedIdentityWireStatus },
      { kind: "ask" as const, ip: "10.0.0.1", selector: "", metadata: true },
      { kind: "ask" as const, ip: "10.0.0.1", selector: "", metadata: true },
      { kind: "ask" as const, ip: "10.0.0.1", selector: "", metadata: false },
      { kind: "ask" as const, ip: "10.0.0.3", selector: "", metadata: true },
      { kind: "pod" as const, ip: "10.0.0.2", name: "p2", uid: "u2", selector: "none", label: false },
      { kind: "ask" as const, ip: "10.0.0.2", selector: "", metadata: true },
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ weight: 1, arbitrary: change }, { weight: 2, arbitrary: ask }), { maxLength: 40 }), async (randomSteps) => {
        // A fixed opening reaches every kind of answer; the random steps then change the cluster under it.
        const steps = [...opening, ...randomSteps];
        const clock = new VirtualClock();
        const cluster = new FakeCluster({ clock });
        const tokens = new FakeTokenSource({ clock });
        tokens.allowSystemAssigned();
        const identity = Object.fromEntries(identities.map((name) => [name, cluster.apply("azureidentities", makeIdentity({ name }))]));
        const binding = Object.fromEntries(identities.map((name) => [name, cluster.apply("azureidentitybindings", makeBinding(identity[name]!, `${name}-sel`))]));
        for (const name of identities) tokens.allow(identity[name]!.spec.resourceID);
        const build = (memoiseDecisions: boolean) => {
          const logger = new RecordingLogger();
          const app = createNmiServer(
            defineNmiConfig({ nodeName: TEST_NODE, podRateLimitPerSecond: 0, memoiseDecisions, setRetryAfterHeader: true }),
            { kube: cluster, tokenSource: tokens, clock, logger, metrics: new RecordingMetrics(), forwarder: new RecordingForwarder() },
          ).app;
          apps.push(app);
          return { app, logger };
        };
        const { app: memoised, logger: memoisedLog } = build(true);
        const { app: fresh, logger: freshLog } = build(false);
        /** The last audit record an app wrote, without the fields that differ between two requests (id, timings). */
        const lastRecord = (log: RecordingLogger) => {
          const fields = log.lines.filter((l) => l.message === AUDIT_MESSAGE).at(-1)?.fields ?? {};
          const { requestId: _id, durationMs: _duration, upstreamMs: _upstream, waitedMs: _waited, ...rest } = fields;
          return rest;
        };
        const podsByName = new Map<string, ReturnType<typeof makePod>>();
        for (const step of steps) {
          switch (step.kind) {
            case "pod":
              podsByName.set(step.name, cluster.apply("pods", makePod({ name: step.name, ip: step.ip, uid: step.uid, selector: step.selector, labels: step.label ? { role: "system" } : {} })));
              break;
            case "removePod":
              cluster.remove("pods", "default", step.name);
              break;
            case "aai": {
              const pod = podsByName.get(step.name) ?? makePod({ name: step.name, ip: "10.9.9.9", selector: `${step.identity}-sel` });
              cluster.apply("azureassignedidentities", makeAssigned({ ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, aadpodidbinding: `${step.identity}-sel` } } }, identity[step.identity]!, binding[step.identity]!, step.status));
              break;
            }
            case "removeAai":
              cluster.remove("azureassignedidentities", "default", `${step.name}-default-${step.identity}`);
              break;
            case "exception":
              if (step.on) cluster.apply("azurepodidentityexceptions", makeException("sys", "default", { role: "system" }));
              else cluster.remove("azurepodidentityexceptions", "default", "sys");
              break;
            case "ask": {
              const selector = step.selector.replace("X", identity["id-x"]!.spec.clientID).replace("Y", identity["id-y"]!.spec.clientID);
              const request = { url: tokenUrl(undefined, selector), headers: step.metadata ? META : {}, remoteAddress: step.ip };
              const a = await memoised.inject(request);
              const b = await fresh.inject(request);
              expect(a.statusCode).toBe(b.statusCode);
              // The same audit record, whichever way the decision was reached (a memoised subject or one decided afresh).
              expect(lastRecord(memoisedLog)).toEqual(lastRecord(freshLog));
              seen.set(a.statusCode, (seen.get(a.statusCode) ?? 0) + 1);
              if (a.statusCode === 200) {
                expect(decodeFakeJwt(JSON.parse(a.body)["access_token"]).appid).toBe(decodeFakeJwt(JSON.parse(b.body)["access_token"]).appid);
              }
              break;
            }
          }
        }
        for (const app of apps.splice(0)) await app.close();
      }),
      { numRuns: 60 },
    );
    // The runs covered issued tokens, bad requests, unknown callers and "no identity (yet)" (503 with Retry-After).
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 500, 503]));
  });
});
