import { describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeFederatedCredentialPort } from "./fake-federated-credential-port.js";
import { FakeIdentityCatalog } from "./fake-identity-catalog.js";

const ID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web";
const OTHER = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/batch";
const fic = (short: string, subject = `system:serviceaccount:ns:${short}`) => ({ name: `fic-${short}`, issuer: "https://issuer.example", subject, audiences: ["api://AzureADTokenExchange"] });

function setup() {
  const clock = new VirtualClock();
  const catalog = new FakeIdentityCatalog({ clock, federated: { writeLatencyMs: 100, writeIntervalMs: 1_000 } });
  catalog.register(ID);
  return { clock, catalog, port: new FakeFederatedCredentialPort(catalog.federatedCredentials) };
}

describe("FakeFederatedCredentialPort (core's FederatedCredentialPort over the fake store)", () => {
  it("creates, lists and deletes; an absent credential or identity is notFound", async () => {
    const { clock, port } = setup();
    const created = port.create(ID, fic("a"));
    await clock.advanceAsync(100);
    expect(await created).toEqual({ ok: true, value: fic("a") });
    expect(await port.list(ID)).toEqual({ ok: true, value: [fic("a")] });
    const deleted = port.delete(ID, "fic-a");
    await clock.advanceAsync(100);
    expect(await deleted).toEqual({ ok: true, value: undefined });
    const again = port.delete(ID, "fic-a");
    await clock.advanceAsync(100);
    expect(await again).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(await port.list(`${ID}-gone`)).toMatchObject({ ok: false, error: { kind: "notFound" } });
  });

  it("classifies overlapping writes as conflict, early writes as throttled, the 21st as limit, bad input as failed 400", async () => {
    const { clock, catalog, port } = setup();
    const first = port.create(ID, fic("a"));
    await clock.flush();
    // A create is throttled before the concurrency check answers; the overlap is recorded all the same.
    expect(await port.create(ID, fic("b"))).toMatchObject({ ok: false, error: { kind: "throttled" } });
    expect(catalog.federatedCredentials.counts().peakConcurrentWrites).toBe(2);
    expect(await port.delete(ID, "fic-z")).toMatchObject({ ok: false, error: { kind: "conflict" } });
    await clock.advanceAsync(100);
    expect((await first).ok).toBe(true);
    expect(await port.create(ID, fic("b"))).toMatchObject({ ok: false, error: { kind: "throttled", retryAfterMs: 900 } });
    catalog.federatedCredentials.setWriteInterval(undefined);
    catalog.federatedCredentials.setWriteLatency(0);
    expect(await port.create(ID, fic("dup", "system:serviceaccount:ns:a"))).toMatchObject({ ok: false, error: { kind: "failed", status: 400 } });
    for (let i = 2; i <= 20; i++) expect((await port.create(ID, fic(`c${i}`))).ok).toBe(true);
    expect(await port.create(ID, fic("c21"))).toMatchObject({ ok: false, error: { kind: "limit" } });
  });

  it("answers every call after its latency on the injected clock, and logs calls when they arrive", async () => {
    const clock = new VirtualClock({ startMs: 5_000 });
    const catalog = new FakeIdentityCatalog({ clock });
    catalog.register(ID);
    const port = new FakeFederatedCredentialPort(catalog.federatedCredentials, { clock, latencyMs: 250 });
    let answered = false;
    const created = port.create(ID, fic("a")).then((r) => ((answered = true), r));
    const listed = port.list(ID);
    await clock.advanceAsync(249);
    expect(answered).toBe(false);
    expect(catalog.federatedCredentials.writes).toStrictEqual([]);
    await clock.advanceAsync(1);
    expect(await created).toEqual({ ok: true, value: fic("a") });
    expect((await listed).ok).toBe(true);
    expect(port.calls).toStrictEqual([
      { op: "create", identityResourceId: ID, name: "fic-a", atMs: 5_000 },
      { op: "list", identityResourceId: ID, atMs: 5_000 },
    ]);
    expect(port.held(ID)).toStrictEqual([fic("a")]);
    expect(port.held(`${ID}-gone`)).toStrictEqual([]);
    expect(() => new FakeFederatedCredentialPort(catalog.federatedCredentials, { latencyMs: -1 })).toThrow(RangeError);
  });

  it("answers scripted failures per operation, in order, after the latency and without touching the store", async () => {
    const { clock, catalog } = setup();
    catalog.federatedCredentials.setWriteLatency(0);
    const port = new FakeFederatedCredentialPort(catalog.federatedCredentials, { clock, latencyMs: 10 });
    const conflict = { kind: "conflict", message: "409" } as const;
    const forbidden = { kind: "failed", status: 403, message: "AuthorizationFailed" } as const;
    port.failNext(2, conflict, ["create"]);
    port.failNext(1, forbidden, ["create", "delete"]);
    const call = async <T>(promise: Promise<T>): Promise<T> => {
      await clock.advanceAsync(10);
      return promise;
    };
    expect(await call(port.list(ID))).toEqual({ ok: true, value: [] });
    expect(await call(port.delete(ID, "fic-a"))).toEqual({ ok: false, error: forbidden });
    expect(await call(port.create(ID, fic("a")))).toEqual({ ok: false, error: conflict });
    expect(await call(port.create(ID, fic("a")))).toEqual({ ok: false, error: conflict });
    expect(catalog.federatedCredentials.writes).toStrictEqual([]);
    expect(port.counts().conflicts).toBe(0);
    expect(await call(port.create(ID, fic("a")))).toEqual({ ok: true, value: fic("a") });

    port.failNext(Number.POSITIVE_INFINITY, forbidden, ["list"]);
    for (let i = 0; i < 5; i++) expect(await call(port.list(ID))).toEqual({ ok: false, error: forbidden });
    expect(await call(port.delete(ID, "fic-a"))).toEqual({ ok: true, value: undefined });
    expect(() => port.failNext(-1, forbidden)).toThrow(RangeError);
    expect(() => port.failNext(1.5, forbidden)).toThrow(RangeError);
  });

  it("counts writes in flight overall and per identity, from call to answer, and the store's 409s", async () => {
    const { clock, catalog } = setup();
    catalog.register(OTHER);
    catalog.federatedCredentials.setWriteInterval(undefined);
    const port = new FakeFederatedCredentialPort(catalog.federatedCredentials, { clock, latencyMs: 50 });
    const calls: Promise<unknown>[] = [port.create(ID, fic("a")), port.create(OTHER, fic("b"))];
    await clock.advanceAsync(60);
    // The delete reaches the store while the create under ID still holds it: 409. Reads never count.
    const overlapping = port.delete(ID, "fic-a");
    calls.push(overlapping, port.list(ID));
    expect(port.counts()).toMatchObject({ inFlight: 3, peakInFlight: 3, peakInFlightPerIdentity: 2 });
    await clock.advanceAsync(200);
    await Promise.all(calls);
    const counts = port.counts();
    expect(counts).toMatchObject({ inFlight: 0, peakInFlight: 3, peakInFlightPerIdentity: 2, conflicts: 1 });
    expect(Object.values(counts.peakInFlightByIdentity).sort()).toStrictEqual([1, 2]);
    expect(await overlapping).toMatchObject({ ok: false, error: { kind: "conflict" } });
  });
});
