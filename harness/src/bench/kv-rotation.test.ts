/**
 * A small run of the rotation bench's two parts (kv-rotation.ts), so the property it prints is also checked on
 * every test run: however often the drivers re-mount, NMI fetches one token per (identity, resource) per token
 * lifetime, and answers every call.
 */
import { describe, expect, it } from "vitest";
import { measureLifetimes, measureRealProcess } from "./kv-rotation.js";

describe("Key Vault rotation load on /host/token", () => {
  it("real podid-nmi: 3 rounds of 20 pods over 4 identities cost 4 upstream token requests, every call 200", async () => {
    const real = await measureRealProcess({ pods: 20, identities: 4, rounds: 3, roundGapMs: 200 });
    expect(real).toMatchObject({ rounds: 3, calls: 60, ok: 60, upstreamTokenRequests: 4, identityResourcePairs: 4 });
    // The CSI half names 2 of the classes; each is read once (answers are reused for 30 s).
    expect(real.secretProviderClassReads).toBe(real.secretProviderClasses);
  }, 90_000);

  it("virtual clock: every pod every 2 minutes over 2 token lifetimes, one fetch per pair per lifetime after the first", async () => {
    const figures = await measureLifetimes({ pods: 10, identities: 2, lifetimes: 2 });
    expect(figures.ok).toBe(figures.calls);
    expect(figures.firstFetches).toBe(2);
    expect(figures.fetchesPerPairPerLifetime).toBeLessThanOrEqual(1);
    expect(figures.laterFetches).toBeGreaterThan(0);
  }, 90_000);
});
