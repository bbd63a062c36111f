import { describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeIdentityCatalog } from "./fake-identity-catalog.js";
import type { FakeFederatedCredentialsOptions } from "./fake-federated-credentials.js";

const ID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web";
const OTHER = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/api";
const ISSUER = "https://issuer.example/cluster";
const AUD = ["api://AzureADTokenExchange"];
const props = (subject: string) => ({ issuer: ISSUER, subject, audiences: AUD });

function world(options: FakeFederatedCredentialsOptions = {}) {
  const clock = new VirtualClock();
  const catalog = new FakeIdentityCatalog({ clock, federated: options });
  catalog.register(ID);
  catalog.register(OTHER);
  return { clock, catalog, fics: catalog.federatedCredentials };
}

describe("FakeFederatedCredentials", () => {
  it("makes a write visible to Entra ID only after the propagation delay", async () => {
    const { clock, fics } = world({ propagationDelayMs: 2_000 });
    const written = await fics.createOrUpdate(ID, "fic-a", props("system:serviceaccount:ns:a"));
    expect(written.ok && written.value.created).toBe(true);
    expect(fics.get(ID, "FIC-A").ok).toBe(true); // ARM shows it at once, name in any case
    const claims = { issuer: ISSUER, subject: "system:serviceaccount:ns:a", audiences: AUD };
    expect(fics.findVisibleMatch(ID, claims)).toBeUndefined();
    await clock.advanceAsync(1_999);
    expect(fics.findVisibleMatch(ID, claims)).toBeUndefined();
    await clock.advanceAsync(1);
    expect(fics.findVisibleMatch(ID, claims)?.name).toBe("fic-a");
    // Exact and case-sensitive: another case of the subject or issuer, or another audience, does not match.
    expect(fics.findVisibleMatch(ID, { ...claims, subject: "system:serviceaccount:NS:a" })).toBeUndefined();
    expect(fics.findVisibleMatch(ID, { ...claims, issuer: `${ISSUER}/` })).toBeUndefined();
    expect(fics.findVisibleMatch(ID, { ...claims, audiences: ["api://other"] })).toBeUndefined();
    expect(fics.findVisibleMatch(ID, { ...claims, audiences: ["api://other", AUD[0] ?? ""] })?.name).toBe("fic-a");
  });

  it("keeps honouring the previous version of an update, and a deleted credential, until the change propagated", async () => {
    const { clock, fics } = world({ propagationDelayMs: 1_000 });
    fics.add(ID, "fic-a", props("system:serviceaccount:ns:a"));
    const updated = await fics.createOrUpdate(ID, "fic-a", props("system:serviceaccount:ns:b"));
    expect(updated.ok && updated.value.created).toBe(false);
    expect(fics.visibleCredentials(ID).map((c) => c.subject)).toEqual(["system:serviceaccount:ns:a"]);
    await clock.advanceAsync(1_000);
    expect(fics.visibleCredentials(ID).map((c) => c.subject)).toEqual(["system:serviceaccount:ns:b"]);
    const deleted = await fics.delete(ID, "fic-a");
    expect(deleted.ok && deleted.value.deleted).toBe(true);
    expect(fics.list(ID).ok && fics.get(ID, "fic-a").ok).toBe(false);
    expect(fics.visibleCredentials(ID)).toHaveLength(1);
    await clock.advanceAsync(1_000);
    expect(fics.visibleCredentials(ID)).toHaveLength(0);
  });

  it("refuses a write under an identity while another runs (409), not under another identity", async () => {
    const { clock, fics } = world({ writeLatencyMs: 500 });
    const first = fics.createOrUpdate(ID, "fic-a", props("a"));
    await clock.flush();
    const second = await fics.createOrUpdate(ID, "fic-b", props("b"));
    const del = await fics.delete(ID, "fic-a");
    const elsewhere = fics.createOrUpdate(OTHER, "fic-c", props("c"));
    expect(second.ok ? undefined : second.error.kind).toBe("concurrentWrite");
    expect(del.ok ? undefined : del.error.kind).toBe("concurrentWrite");
    await clock.advanceAsync(500);
    expect((await first).ok).toBe(true);
    expect((await elsewhere).ok).toBe(true);
    const counts = fics.counts();
    expect(counts).toMatchObject({ creates: 2, refused: { concurrentWrite: 2 }, peakConcurrentWrites: 2 });
    expect(counts.peakConcurrentWritesByIdentity[OTHER.toLowerCase()]).toBe(1);
    expect(fics.writes.filter((w) => w.outcome === "concurrentWrite").map((w) => w.concurrent)).toEqual([2, 2]);
  });

  it("throttles creates/updates per identity when a write interval is set", async () => {
    const { clock, fics } = world({ writeIntervalMs: 4_000 });
    expect((await fics.createOrUpdate(ID, "fic-a", props("a"))).ok).toBe(true);
    await clock.advanceAsync(1_000);
    const throttled = await fics.createOrUpdate(ID, "fic-b", props("b"));
    expect(throttled.ok ? undefined : throttled.error).toMatchObject({ kind: "throttled", retryAfterMs: 3_000 });
    expect((await fics.createOrUpdate(OTHER, "fic-b", props("b"))).ok).toBe(true);
    expect((await fics.delete(ID, "fic-a")).ok).toBe(true); // deletes are not throttled
    await clock.advanceAsync(3_000);
    expect((await fics.createOrUpdate(ID, "fic-b", props("b"))).ok).toBe(true);
  });

  it("enforces the name, property, uniqueness and 20-per-identity rules", async () => {
    const { fics } = world();
    const kind = async (name: string, input: object) => {
      const r = await fics.createOrUpdate(ID, name, input);
      return r.ok ? "ok" : r.error.kind;
    };
    expect(await kind("ab", props("x"))).toBe("invalidName");
    expect(await kind("_abc", props("x"))).toBe("invalidName");
    expect(await kind(`a${"b".repeat(120)}`, props("x"))).toBe("invalidName");
    expect(await kind(`a${"b".repeat(119)}`, props("x"))).toBe("ok");
    expect(await kind("a-b_c", {})).toBe("emptyProperties");
    expect(await kind("a-b_c", { issuer: ISSUER, audiences: AUD })).toBe("emptyProperties");
    expect(await kind("a-b_c", { ...props("y"), audiences: [] })).toBe("audienceCount");
    expect(await kind("a-b_c", { ...props("y"), audiences: ["a", "b"] })).toBe("audienceCount");
    expect(await kind("a-b_c", props("x"))).toBe("duplicateIssuerSubject");
    expect(await kind("a-b_c", props("X"))).toBe("ok"); // uniqueness is exact, like matching
    for (let i = 2; i < 20; i++) expect(await kind(`fic-${i}`, props(`s${i}`))).toBe("ok");
    expect(fics.list(ID)).toMatchObject({ ok: true, value: { length: 20 } });
    expect(await kind("fic-21", props("s21"))).toBe("limitReached");
    expect(await kind("fic-2", props("s2-new"))).toBe("ok"); // updates are not creates
  });

  it("answers identityNotFound for unknown identities and forgets credentials of an unregistered identity", async () => {
    const { catalog, fics } = world();
    const missing = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope";
    const r = await fics.createOrUpdate(missing, "fic-a", props("a"));
    expect(r.ok ? undefined : r.error.kind).toBe("identityNotFound");
    fics.add(ID, "fic-a", props("a"));
    catalog.unregister(ID);
    catalog.register(ID);
    expect(fics.list(ID)).toEqual({ ok: true, value: [] });
  });
});
