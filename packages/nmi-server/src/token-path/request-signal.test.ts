import { afterEach, describe, expect, it } from "vitest";
import { bindPod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";
import { buildAuditRecord } from "./7-response-audit.js";
import type { NmiRequest } from "./2-routes.js";
import type { ServedRequest } from "./7-response-audit.js";
import { RequestSignal, type OnClientGone } from "./2-routes.js";

/** A client whose departure the test triggers; counts subscriptions. */
function client(): { onClientGone: OnClientGone; leave(): void; subscriptions: number; active: number } {
  const listeners = new Set<(reason: Error) => void>();
  const c = {
    subscriptions: 0,
    get active() {
      return listeners.size;
    },
    onClientGone: ((listener) => {
      c.subscriptions += 1;
      listeners.add(listener);
      return () => listeners.delete(listener);
    }) as OnClientGone,
    leave: () => {
      for (const l of [...listeners]) l(new Error("client disconnected"));
    },
  };
  return c;
}

describe("RequestSignal", () => {
  it("builds nothing until read; then aborts when the client leaves", () => {
    const c = client();
    const active = new Set<AbortController>();
    const lifetime = new RequestSignal(c.onClientGone, new AbortController().signal, active);
    expect(c.subscriptions).toBe(0);
    expect(active.size).toBe(0);
    const signal = lifetime.signal;
    expect(lifetime.signal).toBe(signal);
    expect(c.subscriptions).toBe(1);
    expect(active.size).toBe(1);
    c.leave();
    expect(signal.aborted).toBe(true);
    lifetime.dispose();
    expect(active.size).toBe(0);
  });

  it("is aborted at once when shutdown has begun, and is then not tracked", () => {
    const c = client();
    const shutdown = new AbortController();
    shutdown.abort(new Error("NMI is shutting down"));
    const active = new Set<AbortController>();
    const lifetime = new RequestSignal(c.onClientGone, shutdown.signal, active);
    expect(lifetime.signal.aborted).toBe(true);
    expect(c.subscriptions).toBe(0);
    expect(active.size).toBe(0);
  });

  it("dispose stops listening to the client", () => {
    const c = client();
    const lifetime = new RequestSignal(c.onClientGone, new AbortController().signal, new Set());
    const signal = lifetime.signal;
    lifetime.dispose();
    expect(c.active).toBe(0);
    c.leave();
    expect(signal.aborted).toBe(false);
  });
});

describe("the cached-token path", () => {
  let h: NmiHarness | undefined;
  afterEach(async () => {
    await h?.app.close();
    h = undefined;
  });

  const request = (c: ReturnType<typeof client>): NmiRequest => ({
    requestId: "r",
    method: "GET",
    rawTarget: tokenUrl(),
    headers: { metadata: "true" },
    remoteAddress: "10.0.0.5",
    onClientGone: c.onClientGone,
  });

  it("answers a repeated request from memory synchronously, without a promise or a disconnect listener", async () => {
    h = createHarness({ tokenLatencyMs: 0 });
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const service = h.engine;
    if (service === undefined) throw new Error("no service");
    const c = client();
    // The first request decides and fetches upstream (a promise); the second is memoised and cached.
    const first = await service.serve(request(c));
    expect(first.reply.response.status).toBe(200);
    const second = service.serve(request(c));
    expect(second).not.toBeInstanceOf(Promise);
    const served = second as ServedRequest;
    expect(served.reply.response.status).toBe(200);
    expect(buildAuditRecord(served.audit)).toMatchObject({ cache: "hit", cacheHit: true, podName: "app", decision: "issued" });
    expect(c.subscriptions).toBe(0);
    expect(h.logger.findAll("nmi decision")).toHaveLength(2);
    // The memoised record names the same pod, identity and resource as the decision it reuses, in the same order.
    const volatile = new Set(["cache", "cacheHit", "upstreamMs", "durationMs"]);
    const stable = (r: object) => Object.entries(r).filter(([k]) => !volatile.has(k));
    expect(stable(buildAuditRecord(served.audit))).toEqual(stable(buildAuditRecord(first.audit)));
  });
});
