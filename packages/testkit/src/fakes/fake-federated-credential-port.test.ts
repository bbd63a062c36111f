import { describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeFederatedCredentialPort } from "./fake-federated-credential-port.js";
import { FakeIdentityCatalog } from "./fake-identity-catalog.js";

const ID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web";
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
});
