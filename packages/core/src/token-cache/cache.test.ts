import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ImdsTokenBody, TokenSourceError } from "../ports/token-source.port.js";
import type { TokenCacheState } from "./cache.js";
import { createTokenCache, fetchFailed, fetchSucceeded, forgetIdentity, invalidateIdentity, requestToken, steadyHit, sweepTokenCache } from "./cache.js";
import type { TokenCacheConfig } from "./config.js";
import type { TokenCacheKey } from "./key.js";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const key: TokenCacheKey = { identityKey: "client:aaa", resource: "https://management.azure.com/" };

/** A token expiring `lifetimeMs` after `issuedAtMs` (rounded down to IMDS's whole seconds). */
function token(issuedAtMs: number, lifetimeMs: number, tag = "t"): ImdsTokenBody {
  return {
    access_token: tag,
    refresh_token: "",
    expires_in: String(Math.floor(lifetimeMs / 1000)),
    expires_on: String(Math.floor((issuedAtMs + lifetimeMs) / 1000)),
    not_before: String(Math.floor(issuedAtMs / 1000)),
    resource: key.resource,
    token_type: "Bearer",
    client_id: "aaa",
  };
}

const rejected: TokenSourceError = { kind: "rejected", status: 400, error: "invalid_request", description: "Identity not found" };
const unavailable: TokenSourceError = { kind: "unavailable", message: "IMDS timed out" };

describe("token cache: documented cases", () => {
  it("fetches once, then hits, refreshes at 80 % of the life, and stops serving 60 s before expiry", () => {
    let s = createTokenCache();
    const first = requestToken(s, key, "v1", T0);
    expect(first.decision.kind).toBe("fetch");
    if (first.decision.kind !== "fetch") return;
    s = fetchSucceeded(first.state, key, first.decision.fetchId, token(T0, HOUR), T0 + 100).state;

    const hit = requestToken(s, key, "v1", T0 + 10 * 60_000);
    expect(hit.decision.kind).toBe("hit");
    s = hit.state;

    const refresh = requestToken(s, key, "v1", T0 + 49 * 60_000);
    expect(refresh.decision.kind).toBe("hitAndRefresh");
    s = refresh.state;
    // While the refresh runs, callers keep getting the cached token.
    expect(requestToken(s, key, "v1", T0 + 50 * 60_000).decision.kind).toBe("hit");
    // Past expiry minus skew the old token is never served: callers join the running refresh.
    expect(requestToken(s, key, "v1", T0 + HOUR - 60_000).decision.kind).toBe("join");
  });

  it("does not cache a token whose expires_on cannot be read, but hands it on", () => {
    const s = createTokenCache();
    const first = requestToken(s, key, "v1", T0);
    if (first.decision.kind !== "fetch") throw new Error("expected fetch");
    const bad = { ...token(T0, HOUR), expires_on: "2023-11-14T22:13:20Z" };
    const done = fetchSucceeded(first.state, key, first.decision.fetchId, bad, T0);
    expect(done.outcome).toEqual({ kind: "passThrough", token: bad });
    expect(requestToken(done.state, key, "v1", T0 + 1).decision.kind).toBe("fetch");
  });

  it("replays a refusal for rejectedTtlMs and drops the cached token; does not cache unavailable", () => {
    let s = createTokenCache({ rejectedTtlMs: 5_000 });
    const a = requestToken(s, key, "v1", T0);
    if (a.decision.kind !== "fetch") throw new Error("expected fetch");
    s = fetchSucceeded(a.state, key, a.decision.fetchId, token(T0, HOUR), T0).state;
    const r = requestToken(s, key, "v1", T0 + 50 * 60_000);
    if (r.decision.kind !== "hitAndRefresh") throw new Error("expected refresh");
    const failed = fetchFailed(r.state, key, r.decision.fetchId, rejected, T0 + 50 * 60_000);
    expect(failed.outcome).toEqual({ kind: "failed", error: rejected });
    s = failed.state;
    expect(requestToken(s, key, "v1", T0 + 50 * 60_000 + 4_999).decision).toEqual({ kind: "cachedRejection", error: rejected, retryAfterMs: 1 });
    const again = requestToken(s, key, "v1", T0 + 50 * 60_000 + 5_000);
    expect(again.decision.kind).toBe("fetch");
    if (again.decision.kind !== "fetch") return;
    s = fetchFailed(again.state, key, again.decision.fetchId, unavailable, T0 + 50 * 60_000 + 5_000).state;
    expect(requestToken(s, key, "v1", T0 + 50 * 60_000 + 5_001).decision.kind).toBe("fetch");
  });

  it("keeps a valid token through an IMDS outage and waits refreshRetryMs before refreshing again", () => {
    let s = createTokenCache({ refreshRetryMs: 30_000 });
    const a = requestToken(s, key, "v1", T0);
    if (a.decision.kind !== "fetch") throw new Error("expected fetch");
    s = fetchSucceeded(a.state, key, a.decision.fetchId, token(T0, HOUR), T0).state;
    const t = T0 + 50 * 60_000;
    const r = requestToken(s, key, "v1", t);
    if (r.decision.kind !== "hitAndRefresh") throw new Error("expected refresh");
    s = fetchFailed(r.state, key, r.decision.fetchId, unavailable, t).state;
    expect(requestToken(s, key, "v1", t + 29_999).decision.kind).toBe("hit");
    expect(requestToken(s, key, "v1", t + 30_000).decision.kind).toBe("hitAndRefresh");
  });

  it("ignores a completion for an invalidated identity and tells its waiters to retry", () => {
    let s = createTokenCache();
    const a = requestToken(s, key, "v1", T0);
    if (a.decision.kind !== "fetch") throw new Error("expected fetch");
    const inv = invalidateIdentity(a.state, key.identityKey, "v2");
    expect(inv.abandoned).toEqual([a.decision.fetchId]);
    s = inv.state;
    const late = fetchSucceeded(s, key, a.decision.fetchId, token(T0, HOUR, "old"), T0 + 10);
    expect(late.outcome).toEqual({ kind: "stale" });
    expect(late.state).toBe(s);
    expect(requestToken(s, key, "v2", T0 + 20).decision.kind).toBe("fetch");
  });

  it("treats a request carrying a new identity version as an invalidation", () => {
    let s = createTokenCache();
    const a = requestToken(s, key, "v1", T0);
    if (a.decision.kind !== "fetch") throw new Error("expected fetch");
    s = fetchSucceeded(a.state, key, a.decision.fetchId, token(T0, HOUR, "old"), T0).state;
    const b = requestToken(s, key, "v2", T0 + 1);
    expect(b.decision.kind).toBe("fetch");
    expect(b.abandoned).toEqual([]);
  });

  it("does not flush on an unchanged version (informer resync) and forgets deleted identities", () => {
    let s = createTokenCache();
    const a = requestToken(s, key, "v1", T0);
    if (a.decision.kind !== "fetch") throw new Error("expected fetch");
    s = fetchSucceeded(a.state, key, a.decision.fetchId, token(T0, HOUR), T0).state;
    expect(invalidateIdentity(s, key.identityKey, "v1").state).toBe(s);
    const gone = forgetIdentity(s, key.identityKey).state;
    expect(gone.entries.size).toBe(0);
    expect(gone.identityVersions.has(key.identityKey)).toBe(false);
  });

  it("sweeps expired entries", () => {
    let s = createTokenCache();
    const a = requestToken(s, key, "v1", T0);
    if (a.decision.kind !== "fetch") throw new Error("expected fetch");
    s = fetchSucceeded(a.state, key, a.decision.fetchId, token(T0, HOUR), T0).state;
    expect(sweepTokenCache(s, T0 + HOUR - 60_001).entries.size).toBe(1);
    expect(sweepTokenCache(s, T0 + HOUR - 60_000).entries.size).toBe(0);
  });
});

/** Drives the cache with requests that complete after a fixed latency, counting upstream fetches. */
function simulate(
  config: Partial<TokenCacheConfig>,
  requestTimes: readonly number[],
  lifetimeMs: number,
  latencyMs: number,
): { fetchStarts: number[]; served: { at: number; token: ImdsTokenBody }[] } {
  let s = createTokenCache(config);
  const pending: { fetchId: number; doneAt: number }[] = [];
  const fetchStarts: number[] = [];
  const served: { at: number; token: ImdsTokenBody }[] = [];
  const complete = (upTo: number): void => {
    pending.sort((a, b) => a.doneAt - b.doneAt);
    while (pending.length > 0 && (pending[0]?.doneAt ?? Infinity) <= upTo) {
      const p = pending.shift();
      if (p === undefined) break;
      s = fetchSucceeded(s, key, p.fetchId, token(p.doneAt, lifetimeMs, `f${p.fetchId}`), p.doneAt).state;
    }
  };
  for (const at of requestTimes) {
    complete(at);
    const step = requestToken(s, key, "v1", at);
    s = step.state;
    const d = step.decision;
    if (d.kind === "fetch" || d.kind === "hitAndRefresh") {
      fetchStarts.push(at);
      pending.push({ fetchId: d.fetchId, doneAt: at + latencyMs });
    }
    if (d.kind === "hit" || d.kind === "hitAndRefresh") served.push({ at, token: d.token });
  }
  return { fetchStarts, served };
}

describe("token cache: properties", () => {
  it("K callers × M requests per lifetime cause at most one fetch plus one refresh per lifetime, and no expired token is served", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 10, max: 24 * 60 }).map((minutes) => minutes * 60_000),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 1_000_000 })),
        (callers, perLifetime, lifetimeMs, lifetimes, latencyMs, jitter) => {
          const times: number[] = [];
          const spacing = Math.floor(lifetimeMs / perLifetime);
          const it = jitter[Symbol.iterator]();
          for (let i = 0; i < perLifetime * lifetimes; i++) {
            for (let c = 0; c < callers; c++) times.push(T0 + i * spacing + ((it.next().value as number) % Math.max(1, spacing)));
          }
          times.sort((a, b) => a - b);
          const run = simulate({}, times, lifetimeMs, latencyMs);
          for (let w = 0; w < lifetimes + 1; w++) {
            const inWindow = run.fetchStarts.filter((t) => t >= T0 + w * lifetimeMs && t < T0 + (w + 1) * lifetimeMs).length;
            expect(inWindow).toBeLessThanOrEqual(2);
          }
          for (const { at, token: served } of run.served) expect(Number(served.expires_on) * 1000 - 60_000).toBeGreaterThan(at);
          // The count does not depend on how many callers ask at once: single flight joins them.
          const alone = simulate({}, [...new Set(times)], lifetimeMs, latencyMs);
          expect(run.fetchStarts.length).toBe(alone.fetchStarts.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("never holds more than maxEntries tokens and evicts expired ones before live ones", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ id: fc.integer({ min: 0, max: 12 }), dt: fc.integer({ min: 0, max: 20 * 60_000 }) }), { maxLength: 60 }),
        (maxEntries, ops) => {
          let s: TokenCacheState = createTokenCache({ maxEntries });
          let now = T0;
          for (const op of ops) {
            now += op.dt;
            const k: TokenCacheKey = { identityKey: `client:${op.id}`, resource: "https://vault.azure.net" };
            const step = requestToken(s, k, "v", now);
            s = step.state;
            if (step.decision.kind === "fetch" || step.decision.kind === "hitAndRefresh") {
              const live = [...s.entries.values()].filter((e) => now < e.serveUntilMs).length;
              const hadExpired = [...s.entries.values()].some((e) => now >= e.serveUntilMs);
              const before = s.entries;
              s = fetchSucceeded(s, k, step.decision.fetchId, token(now, HOUR), now).state;
              expect(s.entries.size).toBeLessThanOrEqual(maxEntries);
              // Evicting a live token while an expired one stays would be wrong.
              const evictedLive = [...before.entries()].some(([kk, e]) => !s.entries.has(kk) && now < e.serveUntilMs);
              if (evictedLive) expect([...s.entries.values()].some((e) => now >= e.serveUntilMs)).toBe(false);
              if (hadExpired && live < maxEntries) expect(evictedLive).toBe(false);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("evicts the least recently used live token first", () => {
    let s = createTokenCache({ maxEntries: 2, recencyGranularityMs: 0 });
    const k = (n: number): TokenCacheKey => ({ identityKey: `client:${n}`, resource: "r" });
    for (const n of [1, 2]) {
      const step = requestToken(s, k(n), "v", T0);
      if (step.decision.kind !== "fetch") throw new Error("expected fetch");
      s = fetchSucceeded(step.state, k(n), step.decision.fetchId, token(T0, HOUR), T0).state;
    }
    s = requestToken(s, k(1), "v", T0 + 1).state; // 1 is now more recent than 2
    const step = requestToken(s, k(3), "v", T0 + 2);
    if (step.decision.kind !== "fetch") throw new Error("expected fetch");
    s = fetchSucceeded(step.state, k(3), step.decision.fetchId, token(T0, HOUR), T0 + 2).state;
    expect([...s.entries.values()].map((e) => e.key.identityKey)).toEqual(["client:1", "client:3"]);
  });

  it("records recency once per granularity interval: a repeated hit leaves the state untouched", () => {
    const k = (n: number): TokenCacheKey => ({ identityKey: `client:${n}`, resource: "r" });
    let s = createTokenCache({ maxEntries: 2, recencyGranularityMs: 1_000 });
    for (const n of [1, 2]) {
      const step = requestToken(s, k(n), "v", T0);
      if (step.decision.kind !== "fetch") throw new Error("expected fetch");
      s = fetchSucceeded(step.state, k(n), step.decision.fetchId, token(T0, HOUR), T0).state;
    }
    // Within the interval: the very same state object comes back (no copy of the entry map).
    const within = requestToken(s, k(1), "v", T0 + 999);
    expect(within.decision.kind).toBe("hit");
    expect(within.state).toBe(s);
    // Once the interval has passed, the use is recorded and 1 becomes the most recent.
    s = requestToken(within.state, k(1), "v", T0 + 1_000).state;
    expect([...s.entries.values()].map((e) => e.key.identityKey)).toEqual(["client:2", "client:1"]);
  });

  it("evicts in LRU order to within the granularity", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 5 }), dt: fc.integer({ min: 0, max: 3_000 }) }), { minLength: 1, maxLength: 60 }),
        (granularity, uses) => {
          let s = createTokenCache({ maxEntries: 3, recencyGranularityMs: granularity });
          const k = (n: number): TokenCacheKey => ({ identityKey: `client:${n}`, resource: "r" });
          let now = T0;
          const lastUse = new Map<string, number>();
          for (const use of uses) {
            now += use.dt;
            const before = new Map(lastUse);
            const step = requestToken(s, k(use.key), "v", now);
            s = step.state;
            if (step.decision.kind === "fetch") s = fetchSucceeded(s, k(use.key), step.decision.fetchId, token(now, HOUR), now).state;
            lastUse.set(`client:${use.key}`, now);
            // Whatever was evicted was used no later than (granularity) after any token kept.
            for (const [id, usedAt] of before) {
              const kept = [...s.entries.values()].some((e) => e.key.identityKey === id);
              if (kept) continue;
              lastUse.delete(id);
              for (const e of s.entries.values()) {
                const keptUse = before.get(e.key.identityKey);
                if (keptUse !== undefined) expect(usedAt).toBeLessThan(keptUse + granularity);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("token cache: steady hits", () => {
  /** A state reached by an arbitrary run of requests, completions, failures and invalidations of three keys. */
  const runArb = fc.record({
    config: fc.record({ recencyGranularityMs: fc.integer({ min: 0, max: 5_000 }), maxEntries: fc.integer({ min: 1, max: 4 }) }),
    ops: fc.array(
      fc.record({
        kind: fc.constantFrom("request", "complete", "fail", "reject", "invalidate", "sweep"),
        id: fc.integer({ min: 0, max: 2 }),
        version: fc.constantFrom("v1", "v2"),
        dt: fc.integer({ min: 0, max: 30 * 60_000 }),
        lifetimeMs: fc.integer({ min: 30_000, max: 2 * HOUR }),
      }),
      { maxLength: 40 },
    ),
  });
  type Run = typeof runArb extends fc.Arbitrary<infer R> ? R : never;
  const keyOf = (id: number): TokenCacheKey => ({ identityKey: `client:${id}`, resource: "https://vault.azure.net" });

  function replay(run: Run): { state: TokenCacheState; now: number } {
    let state = createTokenCache(run.config);
    let now = T0;
    const fetchIds = new Map<number, number>();
    for (const op of run.ops) {
      now += op.dt;
      const k = keyOf(op.id);
      if (op.kind === "request") {
        const step = requestToken(state, k, op.version, now);
        state = step.state;
        if (step.decision.kind === "fetch" || step.decision.kind === "hitAndRefresh") fetchIds.set(op.id, step.decision.fetchId);
      } else if (op.kind === "complete") {
        state = fetchSucceeded(state, k, fetchIds.get(op.id) ?? 0, token(now, op.lifetimeMs), now).state;
      } else if (op.kind === "fail" || op.kind === "reject") {
        state = fetchFailed(state, k, fetchIds.get(op.id) ?? 0, op.kind === "fail" ? unavailable : rejected, now).state;
      } else if (op.kind === "invalidate") {
        state = invalidateIdentity(state, k.identityKey, op.version).state;
      } else {
        state = sweepTokenCache(state, now);
      }
    }
    return { state, now };
  }

  it("answers exactly what requestToken answers, without a state change, at every instant before untilMs, and not at untilMs", () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: 0, max: 2 }), fc.constantFrom("v1", "v2"), fc.integer({ min: 0, max: 2 * HOUR }), fc.double({ min: 0, max: 1, noNaN: true }), (run, id, version, ahead, fraction) => {
        const { state, now: last } = replay(run);
        const k = keyOf(id);
        const now = last + ahead;
        const steady = steadyHit(state, k, version, now);
        const asked = requestToken(state, k, version, now);
        const plainHit = asked.state === state && asked.decision.kind === "hit" && asked.abandoned.length === 0;
        // Defined exactly when the request is a hit that changes nothing.
        expect(steady !== undefined).toBe(plainHit);
        if (steady === undefined || asked.decision.kind !== "hit") return;
        expect(asked.decision).toEqual({ kind: "hit", token: steady.token, expiresAtMs: steady.expiresAtMs });
        // Anywhere inside the window, the same answer and the same state.
        const inside = now + Math.floor((steady.untilMs - 1 - now) * fraction);
        const later = requestToken(state, k, version, inside);
        expect(later.state).toBe(state);
        expect(later.decision).toEqual(asked.decision);
        // At its end, no longer a plain hit (a refresh, a recency update, or a miss).
        const after = requestToken(state, k, version, steady.untilMs);
        expect(after.state === state && after.decision.kind === "hit").toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it("sweeping a cache with nothing to drop returns the very same state (a holder of it stays current)", () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: 0, max: HOUR }), (run, ahead) => {
        const { state, now } = replay(run);
        const swept = sweepTokenCache(state, now + ahead);
        const dropsSomething =
          [...state.entries.values()].some((e) => now + ahead >= e.serveUntilMs) || [...state.negative.values()].some((n) => now + ahead >= n.untilMs);
        expect(swept === state).toBe(!dropsSomething);
        expect([...swept.entries.keys()]).toEqual([...state.entries].filter(([, e]) => now + ahead < e.serveUntilMs).map(([kk]) => kk));
      }),
      { numRuns: 500 },
    );
  });
});
