import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FAKE_TENANT_ID, FakeIdentityCatalog, fakeIdentityRecord } from "./fake-identity-catalog.js";

const ID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web";

describe("FakeIdentityCatalog", () => {
  it("finds registered identities in any case and derives stable client/principal ids", async () => {
    const catalog = new FakeIdentityCatalog();
    const record = catalog.register(ID);
    expect(record).toEqual(fakeIdentityRecord(ID));
    expect(record.tenantId).toBe(FAKE_TENANT_ID);
    expect(record.clientId).not.toBe(record.principalId);
    const found = await catalog.getUserAssignedIdentity(ID.toUpperCase());
    expect(found.ok && found.value).toEqual(record);
    expect(catalog.findByClientId(record.clientId.toUpperCase())).toEqual(record);
    expect(catalog.findByPrincipalId(record.principalId)).toEqual(record);
    expect(catalog.lookups()).toBe(1);
    expect(catalog.lookups(ID)).toBe(1);
  });

  it("honours explicit ids and answers notFound after unregister", async () => {
    const catalog = new FakeIdentityCatalog({ tenantId: "t-1" });
    const record = catalog.register({ id: ID, clientId: "c-1", principalId: "p-1" });
    expect(record).toEqual({ id: ID, clientId: "c-1", principalId: "p-1", tenantId: "t-1" });
    expect(catalog.unregister(ID)).toBe(true);
    const missing = await catalog.getUserAssignedIdentity(ID);
    expect(missing.ok ? undefined : missing.error).toMatchObject({ kind: "notFound", message: expect.stringContaining("'rg'") });
    expect(() => catalog.register("/not/an/identity")).toThrow();
  });

  it("injects forbidden, queued and predicate faults", async () => {
    const catalog = new FakeIdentityCatalog();
    catalog.register(ID);
    catalog.failNext(1, { kind: "throttled", retryAfterMs: 100, message: "429" });
    const stop = catalog.injectFault((id) => (id.endsWith("web") ? { kind: "transient", message: "503" } : undefined));
    const r1 = await catalog.getUserAssignedIdentity(ID);
    const r2 = await catalog.getUserAssignedIdentity(ID);
    stop();
    catalog.forbid([ID]);
    const r3 = await catalog.getUserAssignedIdentity(ID);
    expect([r1, r2, r3].map((r) => (r.ok ? "ok" : r.error.kind))).toEqual(["throttled", "transient", "forbidden"]);
  });

  it("waits its latency on the virtual clock", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const catalog = new FakeIdentityCatalog({ clock, latencyMs: 250 });
    catalog.register(ID);
    let done = false;
    const lookup = catalog.getUserAssignedIdentity(ID).then((r) => {
      done = r.ok;
    });
    await clock.advanceAsync(249);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await lookup;
    expect(done).toBe(true);
  });

  it("property: distinct identities get distinct client and principal ids", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), { minLength: 2, maxLength: 30 }), (names) => {
        const records = names.map((n) => fakeIdentityRecord(`/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`));
        const ids = new Set(records.flatMap((r) => [r.clientId, r.principalId]));
        expect(ids.size).toBe(records.length * 2);
      }),
      { numRuns: 100 },
    );
  });
});
