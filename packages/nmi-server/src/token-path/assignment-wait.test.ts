import { afterEach, describe, expect, it } from "vitest";
import { bindPod, makeAssigned, makePod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

const META = { Metadata: "true" };
let h: NmiHarness;

afterEach(async () => {
  await h?.app.close();
});

/** Yields to the event loop until `n` requests are waiting for assignment (bounded). */
async function untilWaiting(n: number): Promise<void> {
  const service = h.engine;
  for (let i = 0; i < 1000 && service?.waiting !== n; i++) await new Promise((r) => setImmediate(r));
  expect(service?.waiting).toBe(n);
}

describe("event-driven wait for assignment (no polling: the virtual clock never moves)", () => {
  it("completes as soon as the pod's Created AAI becomes Assigned", async () => {
    h = createHarness();
    const { pod, identity, binding } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "Created" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    const startMs = h.clock.now();
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, "Assigned"));
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)["client_id"]).toBe(identity.spec.clientID);
    expect(h.clock.now()).toBe(startMs);
    expect(h.logger.find("nmi decision")?.fields).toMatchObject({ decision: "issued", waitedMs: 0 });
  });

  it("completes when a pod with no AAI at all gets one", async () => {
    h = createHarness();
    const { pod, identity, binding } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "none" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    await h.clock.advanceAsync(30_000);
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, "Created"));
    await untilWaiting(1);
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, "Assigned"));
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(h.logger.find("nmi decision")?.fields).toMatchObject({ waitedMs: 30_000 });
  });

  it("gives up with 404 after the original's 80 s when no AAI appears", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "none" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    await h.clock.advanceAsync(79_999);
    await untilWaiting(1);
    await h.clock.advanceAsync(1);
    const res = await pending;
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)["error_description"]).toMatch(/no AzureAssignedIdentity found/);
  });

  it("gives up with 404 after 100 s in total when the AAI stays Created", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "Created" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    await h.clock.advanceAsync(99_999);
    await untilWaiting(1);
    await h.clock.advanceAsync(1);
    const res = await pending;
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)["error_description"]).toMatch(/not assigned in time/);
  });

  it("answers 503 + Retry-After: 20 at once with --set-retry-after-header", async () => {
    h = createHarness({ config: { setRetryAfterHeader: true } });
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "Created" });
    const res = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("20");
    expect(h.engine?.waiting).toBe(0);
  });

  it("never hands a waiting request's answer to a new pod that took over the IP", async () => {
    h = createHarness();
    bindPod(h, { pod: "old", ip: "10.0.0.5", identity: "id-old", status: "none" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    h.cluster.remove("pods", "default", "old");
    // A different pod (new UID) gets the same IP and is fully assigned right away.
    bindPod(h, { pod: "new", ip: "10.0.0.5", identity: "id-new", status: "Assigned" });
    const res = await pending;
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)["error_description"]).toMatch(/changed while the request was processed/);
    expect(h.tokens.counts().calls).toBe(0);
    expect(h.metrics.counterSum("podid_nmi_caller_changed_total", {})).toBe(1);
  });

  it("re-creating a pod with the same name and IP does not inherit the waiting request", async () => {
    h = createHarness();
    const { identity, binding } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "none" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    h.cluster.remove("pods", "default", "app");
    const replacement = h.cluster.apply("pods", makePod({ name: "app", ip: "10.0.0.5", uid: "uid-replacement", selector: "id-a-selector" }));
    h.cluster.apply("azureassignedidentities", makeAssigned(replacement, identity, binding, "Assigned"));
    const res = await pending;
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)["error_description"]).toMatch(/changed while the request was processed/);
    // The replacement's own request is served normally.
    const own = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(own.statusCode).toBe(200);
  });

  it("answers waiting requests 503 when the server shuts down", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "Created" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    const closing = h.app.close();
    const res = await pending;
    await closing;
    expect(res.statusCode).toBe(503);
    // The connection goes with the server: the client is told not to reuse it.
    expect(res.headers["connection"]).toBe("close");
  });
});
