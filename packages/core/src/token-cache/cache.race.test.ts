import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ImdsTokenBody, TokenSourceError } from "../ports/token-source.port.js";
import type { Result } from "../result.js";
import { err, ok } from "../result.js";
import type { FetchOutcome } from "./cache.js";
import { createTokenCache, fetchFailed, fetchSucceeded, invalidateIdentity, requestToken } from "./cache.js";
import type { TokenCacheKey } from "./key.js";
import { encodeTokenCacheKey } from "./key.js";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const SKEW = 60_000;
const KEYS: readonly TokenCacheKey[] = [
  { identityKey: "client:a", resource: "https://vault.azure.net" },
  { identityKey: "client:a", resource: "https://storage.azure.com/" },
  { identityKey: "client:b", resource: "https://vault.azure.net" },
];

type Upstream = (key: TokenCacheKey, version: string, now: number) => Promise<Result<ImdsTokenBody, TokenSourceError>>;

/**
 * The smallest async driver around the pure cache, as an NMI would write it: one upstream call per
 * `fetch`/`hitAndRefresh` decision, waiters parked per fetch id, abandoned fetches' waiters told to
 * retry at once, and a retry on `stale` with the identity's current version.
 */
class Driver {
  state = createTokenCache();
  now = T0;
  readonly versions = new Map<string, string>();
  readonly upstreamCalls: { key: string; version: string; fetchId: number }[] = [];
  readonly liveCalls = new Map<string, number>();
  readonly abandoned = new Set<number>();
  readonly served: { token: ImdsTokenBody; versionAtServe: string; at: number }[] = [];
  /** Failed upstream calls per `encodedKey|version`. */
  readonly failures = new Map<string, number>();
  maxLivePerKey = 0;
  private readonly waiters = new Map<number, ((o: FetchOutcome) => void)[]>();

  private readonly upstream: Upstream;

  constructor(upstream: Upstream) {
    this.upstream = upstream;
  }

  version(identityKey: string): string {
    return this.versions.get(identityKey) ?? "v0";
  }

  async get(key: TokenCacheKey): Promise<Result<ImdsTokenBody, TokenSourceError>> {
    for (;;) {
      const version = this.version(key.identityKey);
      const step = requestToken(this.state, key, version, this.now);
      this.state = step.state;
      this.abandon(step.abandoned);
      const d = step.decision;
      if (d.kind === "hit" || d.kind === "hitAndRefresh") {
        if (d.kind === "hitAndRefresh") this.startFetch(key, version, d.fetchId);
        return this.serve(key, d.token);
      }
      if (d.kind === "cachedRejection") return err(d.error);
      if (d.kind === "fetch") this.startFetch(key, version, d.fetchId);
      const outcome = await new Promise<FetchOutcome>((resolve) => {
        this.waiters.set(d.fetchId, [...(this.waiters.get(d.fetchId) ?? []), resolve]);
      });
      if (outcome.kind === "stale") continue;
      if (outcome.kind === "failed") return err(outcome.error);
      return this.serve(key, outcome.token);
    }
  }

  invalidate(identityKey: string): void {
    const next = `v${Number(this.version(identityKey).slice(1)) + 1}`;
    this.versions.set(identityKey, next);
    const step = invalidateIdentity(this.state, identityKey, next);
    this.state = step.state;
    this.abandon(step.abandoned);
  }

  private serve(key: TokenCacheKey, token: ImdsTokenBody): Result<ImdsTokenBody, TokenSourceError> {
    this.served.push({ token, versionAtServe: this.version(key.identityKey), at: this.now });
    return ok(token);
  }

  private abandon(ids: readonly number[]): void {
    for (const id of ids) {
      this.abandoned.add(id);
      const call = this.upstreamCalls.find((c) => c.fetchId === id);
      if (call !== undefined) this.liveCalls.set(call.key, (this.liveCalls.get(call.key) ?? 1) - 1);
      this.settle(id, { kind: "stale" });
    }
  }

  private settle(fetchId: number, outcome: FetchOutcome): void {
    const parked = this.waiters.get(fetchId) ?? [];
    this.waiters.delete(fetchId);
    for (const resolve of parked) resolve(outcome);
  }

  private startFetch(key: TokenCacheKey, version: string, fetchId: number): void {
    const k = encodeTokenCacheKey(key);
    this.upstreamCalls.push({ key: k, version, fetchId });
    const live = (this.liveCalls.get(k) ?? 0) + 1;
    this.liveCalls.set(k, live);
    this.maxLivePerKey = Math.max(this.maxLivePerKey, live);
    void this.upstream(key, version, this.now).then((result) => {
      if (!this.abandoned.has(fetchId)) this.liveCalls.set(k, (this.liveCalls.get(k) ?? 1) - 1);
      if (!result.ok) this.failures.set(`${k}|${version}`, (this.failures.get(`${k}|${version}`) ?? 0) + 1);
      const step = result.ok
        ? fetchSucceeded(this.state, key, fetchId, result.value, this.now)
        : fetchFailed(this.state, key, fetchId, result.error, this.now);
      this.state = step.state;
      this.settle(fetchId, step.outcome);
    });
  }
}

function tokenFor(key: TokenCacheKey, version: string, issuedAt: number): ImdsTokenBody {
  return {
    access_token: `${key.identityKey}|${key.resource}|${version}`,
    refresh_token: "",
    expires_in: String(HOUR / 1000),
    expires_on: String(Math.floor((issuedAt + HOUR) / 1000)),
    not_before: String(Math.floor(issuedAt / 1000)),
    resource: key.resource,
    token_type: "Bearer",
    client_id: key.identityKey,
  };
}

/** Every token handed to a caller matched the identity version current at that moment and was not expired. */
function checkServed(driver: Driver): void {
  for (const s of driver.served) {
    const [, , version] = s.token.access_token.split("|");
    // No token of a superseded identity version, and none past expiry minus skew.
    expect(version).toBe(s.versionAtServe);
    expect(Number(s.token.expires_on) * 1000 - SKEW).toBeGreaterThan(s.at);
  }
}

describe("token cache single flight under concurrency", () => {
  it("many concurrent requests for one key cause exactly one upstream call, in any resolution order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 30 }), async (s, callers) => {
        const driver = new Driver((key, version, now) => s.schedule(Promise.resolve(ok(tokenFor(key, version, now))), "upstream"));
        const key = KEYS[0] ?? { identityKey: "", resource: "" };
        const results = Array.from({ length: callers }, () => s.schedule(Promise.resolve(), "caller").then(() => driver.get(key)));
        await drain(s);
        const settled = await Promise.all(results);
        expect(driver.upstreamCalls).toHaveLength(1);
        for (const r of settled) expect(r.ok && r.value.access_token).toBe("client:a|https://vault.azure.net|v0");
        checkServed(driver);
      }),
      { numRuns: 100 },
    );
  });

  it("with invalidations, failures and time passing mid-flight: one live call per key, no stale token, all answered", async () => {
    const action = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("request" as const), key: fc.integer({ min: 0, max: KEYS.length - 1 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("invalidate" as const), identity: fc.constantFrom("client:a", "client:b") }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 40 * 60_000 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(action, { minLength: 1, maxLength: 40 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 9 })),
        async (s, actions, failures) => {
          const failure = failures[Symbol.iterator]();
          const driver = new Driver((key, version, now) => {
            const roll = failure.next().value as number;
            const result: Result<ImdsTokenBody, TokenSourceError> =
              roll === 0
                ? err({ kind: "unavailable", message: "timeout" })
                : roll === 1
                  ? err({ kind: "throttled", retryAfterMs: 1000, message: "429" })
                  : ok(tokenFor(key, version, now));
            return s.schedule(Promise.resolve(result), "upstream");
          });
          let started = 0;
          let answered = 0;
          for (const a of actions) {
            void s.schedule(Promise.resolve(), a.kind).then(() => {
              if (a.kind === "request") {
                started++;
                void driver.get(KEYS[a.key] ?? { identityKey: "", resource: "" }).then(() => answered++);
              } else if (a.kind === "invalidate") driver.invalidate(a.identity);
              else driver.now += a.ms;
            });
          }
          await drain(s);
          expect(answered).toBe(started);
          expect(driver.maxLivePerKey).toBeLessThanOrEqual(1);
          checkServed(driver);
          if (!actions.some((a) => a.kind === "advance")) {
            // Time stands still and tokens live an hour: after a success a (key, version) is
            // never fetched again, so its calls are at most one more than its failures.
            const live = driver.upstreamCalls.filter((c) => !driver.abandoned.has(c.fetchId));
            for (const pair of new Set(live.map((c) => `${c.key}|${c.version}`))) {
              const calls = live.filter((c) => `${c.key}|${c.version}` === pair).length;
              expect(calls).toBeLessThanOrEqual(1 + (driver.failures.get(pair) ?? 0));
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Runs scheduled tasks until none remain, letting microtask chains (driver retries) finish in between. */
async function drain(s: fc.Scheduler): Promise<void> {
  do {
    await s.waitIdle();
    await new Promise<void>((resolve) => setImmediate(resolve));
  } while (s.count() > 0);
}
