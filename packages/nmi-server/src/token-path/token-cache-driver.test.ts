import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { err, ok, type ImdsTokenBody } from "@podid/core";
import { VirtualClock } from "@podid/testkit";
import { TokenCacheDriver, type HitHolder } from "./5-token-cache.js";
import type { TokenFetch } from "./6-upstream.js";

function token(id: string, nowMs: number, lifetimeS = 3600): ImdsTokenBody {
  const now = Math.floor(nowMs / 1000);
  return {
    access_token: id,
    refresh_token: "",
    expires_in: String(lifetimeS),
    expires_on: String(now + lifetimeS),
    not_before: String(now),
    resource: "r",
    token_type: "Bearer",
    client_id: "c",
  };
}

describe("TokenCacheDriver", () => {
  it("single flight: concurrent requests in any interleaving cause one fetch per key, and each gets its key's token", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 30 }), async (s, keys) => {
        const clock = new VirtualClock();
        const driver = new TokenCacheDriver(clock);
        const fetches = new Map<string, number>();
        const fetchFor =
          (k: string): TokenFetch =>
          async () => {
            fetches.set(k, (fetches.get(k) ?? 0) + 1);
            return { result: ok(token(`token-${k}`, clock.now())), upstreamMs: 5 };
          };
        const answers = keys.map((k) =>
          s.schedule(Promise.resolve(k)).then((key) => driver.obtain({ identityKey: `identity:${key}`, resource: "r" }, "v1", fetchFor(key))),
        );
        await s.waitIdle();
        const results = await Promise.all(answers);
        results.forEach((r, i) => {
          expect(r.result.ok && r.result.value.access_token).toBe(`token-${keys[i]}`);
        });
        for (const k of new Set(keys)) expect(fetches.get(k)).toBe(1);
      }),
      { numRuns: 100 },
    );
  });

  it("joined waiters share a failure; a later request fetches again (failures are not cached)", async () => {
    const clock = new VirtualClock();
    const driver = new TokenCacheDriver(clock);
    let calls = 0;
    const failing: TokenFetch = async () => {
      calls += 1;
      await clock.sleep(10);
      return { result: err({ kind: "token", error: { kind: "unavailable", message: "down" } }) };
    };
    const key = { identityKey: "identity:x", resource: "r" };
    const both = Promise.all([driver.obtain(key, "v", failing), driver.obtain(key, "v", failing)]);
    await clock.advanceAsync(10);
    const [a, b] = await both;
    expect(a.cache).toBe("miss");
    expect(b.cache).toBe("joined");
    expect(a.result.ok || b.result.ok).toBe(false);
    expect(calls).toBe(1);
    const again = driver.obtain(key, "v", failing);
    await clock.advanceAsync(10);
    expect((await again).cache).toBe("miss");
    expect(calls).toBe(2);
  });

  it("forget() abandons a running fetch: its waiters start over with a fresh fetch", async () => {
    const clock = new VirtualClock();
    const driver = new TokenCacheDriver(clock);
    let n = 0;
    const slow: TokenFetch = async () => {
      const id = ++n;
      await clock.sleep(100);
      return { result: ok(token(`t${id}`, clock.now())) };
    };
    const key = { identityKey: "identity:x", resource: "r" };
    const first = driver.obtain(key, "v", slow);
    await clock.advanceAsync(50);
    driver.forget("identity:x");
    await clock.advanceAsync(50);
    await clock.advanceAsync(100);
    const answer = await first;
    expect(answer.result.ok && answer.result.value.access_token).toBe("t2");
    expect(n).toBe(2);
    expect(driver.size).toBe(1);
  });

  it("a hit holder changes no answer: the same requests through holders and without them get the same tokens, cache results and fetches", async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("obtain" as const), key: fc.constantFrom("a", "b"), version: fc.constantFrom("v1", "v2"), advanceMs: fc.integer({ min: 0, max: 4 * 60_000 }) }),
      fc.record({ kind: fc.constant("forget" as const), key: fc.constantFrom("a", "b") }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 120, max: 1_800 }), async (ops, lifetimeS) => {
        // Two drivers fed the same requests: one through a holder per (key, version), as memoised decisions do.
        const run = async (withHolders: boolean): Promise<string[]> => {
          const clock = new VirtualClock();
          const driver = new TokenCacheDriver(clock);
          const holders = new Map<string, HitHolder>();
          let fetched = 0;
          const fetch: TokenFetch = async () => {
            fetched += 1;
            return { result: ok(token(`t${String(fetched)}`, clock.now(), lifetimeS)) };
          };
          const seen: string[] = [];
          for (const o of ops) {
            if (o.kind === "forget") {
              driver.forget(`identity:${o.key}`);
              continue;
            }
            clock.advance(o.advanceMs);
            const slot = `${o.key}/${o.version}`;
            let holder = holders.get(slot);
            if (holder === undefined) holders.set(slot, (holder = {}));
            const answer = await driver.obtain({ identityKey: `identity:${o.key}`, resource: "r" }, o.version, fetch, withHolders ? holder : undefined);
            seen.push(`${answer.cache}:${answer.result.ok ? answer.result.value.access_token : "failed"}:${String(fetched)}`);
          }
          return seen;
        };
        expect(await run(true)).toEqual(await run(false));
      }),
      { numRuns: 300 },
    );
  });

  it("a hit holder answers a repeated hit without a new answer object, and stops at the refresh point", async () => {
    const clock = new VirtualClock();
    const driver = new TokenCacheDriver(clock);
    const key = { identityKey: "identity:x", resource: "r" };
    const holder: HitHolder = {};
    let fetched = 0;
    const fetch: TokenFetch = async () => {
      fetched += 1;
      return { result: ok(token(`t${String(fetched)}`, clock.now(), 3600)) };
    };
    expect((await driver.obtain(key, "v", fetch, holder)).cache).toBe("miss");
    const first = await driver.obtain(key, "v", fetch, holder);
    expect(first.cache).toBe("hit");
    expect(holder.steady?.hit).toBe(first);
    clock.advance(500);
    // Inside the window (same cache state, before the next recency update): the kept answer itself.
    expect(await driver.obtain(key, "v", fetch, holder)).toBe(first);
    // Past the refresh-ahead point the request starts a refresh, as without a holder.
    clock.advance(50 * 60_000);
    expect((await driver.obtain(key, "v", fetch, holder)).cache).toBe("refresh");
    expect(fetched).toBe(2);
  });
});

