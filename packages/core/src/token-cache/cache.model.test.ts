import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ImdsTokenBody, TokenSourceError } from "../ports/token-source.port.js";
import type { TokenCacheState, TokenRequestDecision } from "./cache.js";
import { createTokenCache, fetchFailed, fetchSucceeded, invalidateIdentity, requestToken } from "./cache.js";
import type { TokenCacheConfig } from "./config.js";
import { tokenTimes } from "./expiry.js";
import type { TokenCacheKey } from "./key.js";
import { encodeTokenCacheKey } from "./key.js";

/** Short times so a run of a few dozen commands crosses refresh windows, expiries and negative TTLs. */
const config: TokenCacheConfig = {
  expirySkewMs: 1_000,
  minRefreshAheadMs: 5_000,
  refreshAheadFraction: 0.2,
  minRefreshIntervalMs: 1_000,
  refreshRetryMs: 3_000,
  maxLifetimeMs: 24 * 3_600_000,
  rejectedTtlMs: 2_000,
  maxEntries: 1_000,
  recencyGranularityMs: 500,
};

const IDENTITIES = ["client:a", "client:b"] as const;
const RESOURCES = ["https://management.azure.com/", "https://management.azure.com"] as const;
const keyOf = (i: number, r: number): TokenCacheKey => ({ identityKey: IDENTITIES[i] ?? "", resource: RESOURCES[r] ?? "" });

/** The reference model: plain mutable maps and the policy written out directly. */
interface Model {
  now: number;
  versions: Map<string, number>;
  live: Map<string, number>;
  cached: Map<string, { version: number; serveUntil: number; refreshAt: number; blockedUntil: number }>;
  negative: Map<string, number>;
  /** Every fetch not yet completed, including abandoned ones (upstream may still answer them). */
  outstanding: { fetchId: number; key: TokenCacheKey; version: number; startedAt: number }[];
}

interface Real {
  state: TokenCacheState;
  /** Fetch ids the cache abandoned; their completions must be `stale`. */
  abandoned: Set<number>;
}

const versionOf = (m: Model, identityKey: string): number => m.versions.get(identityKey) ?? 0;

function makeToken(key: TokenCacheKey, version: number, issuedAt: number, lifetimeMs: number, readable: boolean): ImdsTokenBody {
  return {
    access_token: `${key.identityKey}|${key.resource}|v${version}`,
    refresh_token: "",
    expires_in: "",
    expires_on: readable ? String(Math.floor((issuedAt + lifetimeMs) / 1000)) : "never",
    not_before: "0",
    resource: key.resource,
    token_type: "Bearer",
    client_id: key.identityKey,
  };
}

function predict(m: Model, key: TokenCacheKey): TokenRequestDecision["kind"] {
  const k = encodeTokenCacheKey(key);
  const c = m.cached.get(k);
  if (c !== undefined && m.now < c.serveUntil) {
    return m.now >= c.refreshAt && m.now >= c.blockedUntil && !m.live.has(k) ? "hitAndRefresh" : "hit";
  }
  if ((m.negative.get(k) ?? -Infinity) > m.now) return "cachedRejection";
  return m.live.has(k) ? "join" : "fetch";
}

class RequestCommand implements fc.Command<Model, Real> {
  readonly identity: number;
  readonly resource: number;
  /** The caller resolved a newer AzureIdentity than the cache was told about. */
  readonly newerVersion: boolean;
  constructor(identity: number, resource: number, newerVersion: boolean) {
    this.identity = identity;
    this.resource = resource;
    this.newerVersion = newerVersion;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const key = keyOf(this.identity, this.resource);
    const k = encodeTokenCacheKey(key);
    const version = versionOf(m, key.identityKey) + (this.newerVersion ? 1 : 0);
    const expectedAbandoned = this.newerVersion ? modelInvalidate(m, this.identity, version) : [];
    const expected = predict(m, key);
    const step = requestToken(r.state, key, `v${version}`, m.now);
    r.state = step.state;
    expect([...step.abandoned].sort((a, b) => a - b)).toEqual(expectedAbandoned);
    for (const id of step.abandoned) r.abandoned.add(id);
    const d = step.decision;
    expect(d.kind).toBe(expected);
    if (d.kind === "hit" || d.kind === "hitAndRefresh") {
      // Never a token of another identity, resource or version, and never one past expiry minus skew.
      expect(d.token.access_token).toBe(`${key.identityKey}|${key.resource}|v${version}`);
      expect(Number(d.token.expires_on) * 1000 - config.expirySkewMs).toBeGreaterThan(m.now);
    }
    if (d.kind === "join") expect(d.fetchId).toBe(m.live.get(k));
    if (d.kind === "fetch" || d.kind === "hitAndRefresh") {
      // Single flight: a new upstream fetch only when none is live for the key.
      expect(m.live.has(k)).toBe(false);
      expect(m.outstanding.some((o) => o.fetchId === d.fetchId)).toBe(false);
      m.live.set(k, d.fetchId);
      m.outstanding.push({ fetchId: d.fetchId, key, version, startedAt: m.now });
    }
    if (d.kind === "fetch") m.cached.delete(k);
  }
  toString(): string {
    return `request(${this.identity},${this.resource}${this.newerVersion ? ",newer" : ""})`;
  }
}

type Completion = { kind: "token"; lifetimeMs: number; readable: boolean } | { kind: "error"; error: TokenSourceError };

class CompleteCommand implements fc.Command<Model, Real> {
  readonly pick: number;
  readonly completion: Completion;
  constructor(pick: number, completion: Completion) {
    this.pick = pick;
    this.completion = completion;
  }
  check(m: Readonly<Model>): boolean {
    return m.outstanding.length > 0;
  }
  run(m: Model, r: Real): void {
    const index = this.pick % m.outstanding.length;
    const fetch = m.outstanding[index];
    if (fetch === undefined) throw new Error("no fetch");
    m.outstanding.splice(index, 1);
    const k = encodeTokenCacheKey(fetch.key);
    const isLive = m.live.get(k) === fetch.fetchId;
    const step =
      this.completion.kind === "token"
        ? fetchSucceeded(r.state, fetch.key, fetch.fetchId, this.token(fetch), m.now)
        : fetchFailed(r.state, fetch.key, fetch.fetchId, this.completion.error, m.now);
    r.state = step.state;
    if (!isLive) {
      // Abandoned by an invalidation: ignored, cache unchanged.
      expect(r.abandoned.has(fetch.fetchId)).toBe(true);
      expect(step.outcome).toEqual({ kind: "stale" });
      return;
    }
    expect(step.outcome.kind).not.toBe("stale");
    m.live.delete(k);
    const cached = m.cached.get(k);
    if (this.completion.kind === "token") {
      m.negative.delete(k);
      const tok = this.token(fetch);
      const usable = tokenTimes(tok, fetch.startedAt, m.now, config);
      expect(step.outcome.kind).toBe({ cacheable: "stored", unreadable: "passThrough", expiring: "failed" }[usable.kind]);
      if (usable.kind === "cacheable") {
        const { serveUntilMs, refreshAtMs } = usable.times;
        m.cached.set(k, { version: fetch.version, serveUntil: serveUntilMs, refreshAt: refreshAtMs, blockedUntil: m.now });
      } else if (cached !== undefined) {
        cached.blockedUntil = m.now + config.refreshRetryMs;
      }
      if (step.outcome.kind === "stored" || step.outcome.kind === "passThrough") expect(step.outcome.token).toEqual(tok);
      return;
    }
    expect(step.outcome).toEqual({ kind: "failed", error: this.completion.error });
    if (this.completion.error.kind === "rejected") {
      m.cached.delete(k);
      m.negative.set(k, m.now + config.rejectedTtlMs);
    } else if (cached !== undefined) {
      cached.blockedUntil = m.now + config.refreshRetryMs;
    }
  }
  private token(fetch: Model["outstanding"][number]): ImdsTokenBody {
    if (this.completion.kind !== "token") throw new Error("not a token completion");
    return makeToken(fetch.key, fetch.version, fetch.startedAt, this.completion.lifetimeMs, this.completion.readable);
  }
  toString(): string {
    return `complete(${this.pick},${JSON.stringify(this.completion)})`;
  }
}

/** Applies an identity version change to the model and returns the fetch ids it abandons, sorted. */
function modelInvalidate(m: Model, identity: number, next: number): number[] {
  const identityKey = IDENTITIES[identity] ?? "";
  const abandoned = [...m.live.entries()]
    .filter(([, id]) => m.outstanding.some((o) => o.fetchId === id && o.key.identityKey === identityKey))
    .map(([, id]) => id)
    .sort((a, b) => a - b);
  m.versions.set(identityKey, next);
  for (const [k, id] of [...m.live]) if (abandoned.includes(id)) m.live.delete(k);
  for (const resource of RESOURCES.keys()) {
    const k = encodeTokenCacheKey(keyOf(identity, resource));
    m.cached.delete(k);
    m.negative.delete(k);
  }
  return abandoned;
}

class InvalidateCommand implements fc.Command<Model, Real> {
  readonly identity: number;
  constructor(identity: number) {
    this.identity = identity;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const identityKey = IDENTITIES[this.identity] ?? "";
    const next = versionOf(m, identityKey) + 1;
    const step = invalidateIdentity(r.state, identityKey, `v${next}`);
    r.state = step.state;
    const expected = modelInvalidate(m, this.identity, next);
    expect([...step.abandoned].sort((a, b) => a - b)).toEqual(expected);
    for (const id of step.abandoned) r.abandoned.add(id);
  }
  toString(): string {
    return `invalidate(${this.identity})`;
  }
}

class AdvanceCommand implements fc.Command<Model, Real> {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  check(): boolean {
    return true;
  }
  run(m: Model): void {
    m.now += this.ms;
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

const completion: fc.Arbitrary<Completion> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("token" as const), lifetimeMs: fc.integer({ min: 0, max: 60_000 }), readable: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      kind: "error" as const,
      error: { kind: "rejected" as const, status: 400, error: "invalid_request", description: "Identity not found" },
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "error" as const, error: { kind: "unavailable" as const, message: "timeout" } }) },
  { weight: 1, arbitrary: fc.constant({ kind: "error" as const, error: { kind: "throttled" as const, retryAfterMs: 1000, message: "429" } }) },
);

const request = fc
  .tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 9 }).map((n) => n === 0))
  .map(([i, r, newer]) => new RequestCommand(i, r, newer));
const complete = fc.tuple(fc.nat(), completion).map(([p, c]) => new CompleteCommand(p, c));
const commands = [
  request,
  request,
  request,
  request,
  complete,
  complete,
  fc.integer({ min: 0, max: 1 }).map((i) => new InvalidateCommand(i)),
  fc.integer({ min: 0, max: 4_000 }).map((ms) => new AdvanceCommand(ms)),
  fc.integer({ min: 0, max: 4_000 }).map((ms) => new AdvanceCommand(ms)),
];

describe("token cache against a reference model", () => {
  it("agrees with the model on every decision; single flight, no stale or expired token, stale completions ignored", () => {
    fc.assert(
      fc.property(fc.commands(commands, { size: "xlarge", maxCommands: 120 }), (cmds) => {
        const setup = (): { model: Model; real: Real } => ({
          model: { now: 1_700_000_000_000, versions: new Map(), live: new Map(), cached: new Map(), negative: new Map(), outstanding: [] },
          real: { state: createTokenCache(config), abandoned: new Set() },
        });
        fc.modelRun(setup, cmds);
      }),
      { numRuns: 300 },
    );
  });
});
