import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ImdsTokenBody } from "../ports/token-source.port.js";
import { DEFAULT_TOKEN_CACHE_CONFIG } from "./config.js";
import { parseWholeSeconds, tokenTimes } from "./expiry.js";

function token(expiresOn: string, expiresIn = ""): ImdsTokenBody {
  return {
    access_token: "t",
    refresh_token: "",
    expires_in: expiresIn,
    expires_on: expiresOn,
    not_before: "0",
    resource: "https://x",
    token_type: "Bearer",
    client_id: "c",
  };
}

const config = DEFAULT_TOKEN_CACHE_CONFIG;

describe("parseWholeSeconds", () => {
  it("reads plain decimal seconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), (n) => {
        expect(parseWholeSeconds(String(n))).toBe(n);
      }),
    );
  });

  it("refuses anything that is not only digits", () => {
    for (const bad of ["", " 1", "1 ", "-1", "+1", "1.5", "1e9", "2017-09-27T03:49:33Z", "0x10", "1234567890123"]) {
      expect(parseWholeSeconds(bad)).toBeUndefined();
    }
    expect(parseWholeSeconds(undefined)).toBeUndefined();
  });
});

describe("tokenTimes", () => {
  it("refreshes a one-hour token at 80 % of its life and stops serving it 60 s before expiry", () => {
    const now = 1_700_000_000_000;
    const times = tokenTimes(token(String(now / 1000 + 3600), "3600"), now, now, config);
    expect(times).toEqual({
      kind: "cacheable",
      times: { expiresAtMs: now + 3_600_000, serveUntilMs: now + 3_540_000, refreshAtMs: now + 2_880_000 },
    });
  });

  it("refreshes a ten-minute token 5 min before expiry (the floor beats 20 %)", () => {
    const now = 1_700_000_000_000;
    const times = tokenTimes(token(String(now / 1000 + 600)), now, now, config);
    expect(times.kind === "cacheable" && times.times.refreshAtMs).toBe(now + 300_000);
  });

  it("does not cache unreadable expiries or tokens already inside the skew", () => {
    const now = 1_700_000_000_000;
    expect(tokenTimes(token("soon"), now, now, config)).toEqual({ kind: "unreadable" });
    expect(tokenTimes(token(String(now / 1000 + 60)), now, now, config)).toEqual({ kind: "expiring", expiresAtMs: now + 60_000 });
    expect(tokenTimes(token(String(now / 1000 + 3600), "30"), now, now, config)).toEqual({ kind: "expiring", expiresAtMs: now + 30_000 });
  });

  it("caps a far-future expiry at maxLifetimeMs", () => {
    const now = 1_700_000_000_000;
    const times = tokenTimes(token(String(now / 100)), now, now, config); // year ~2500
    expect(times.kind === "cacheable" && times.times.expiresAtMs).toBe(now + config.maxLifetimeMs);
  });

  it("orders the instants sensibly and never extends what upstream said", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_600_000_000, max: 1_800_000_000 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: -100_000, max: 200_000 }),
        fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
        (nowSec, latencyMs, lifetimeSec, expiresInSec) => {
          const requestedAt = nowSec * 1000;
          const now = requestedAt + latencyMs;
          const expiresOn = nowSec + lifetimeSec;
          const body = token(String(Math.max(0, expiresOn)), expiresInSec === undefined ? "" : String(expiresInSec));
          const result = tokenTimes(body, requestedAt, now, config);
          if (result.kind === "unreadable") throw new Error("digits are always readable");
          if (result.kind === "expiring") {
            expect(result.expiresAtMs - config.expirySkewMs).toBeLessThanOrEqual(now);
            return;
          }
          const t = result.times;
          expect(t.expiresAtMs).toBeLessThanOrEqual(expiresOn * 1000);
          if (expiresInSec !== undefined) expect(t.expiresAtMs).toBeLessThanOrEqual(requestedAt + expiresInSec * 1000);
          expect(t.expiresAtMs).toBeLessThanOrEqual(requestedAt + config.maxLifetimeMs);
          expect(t.serveUntilMs).toBe(t.expiresAtMs - config.expirySkewMs);
          expect(t.serveUntilMs).toBeGreaterThan(now);
          expect(t.refreshAtMs).toBeLessThanOrEqual(t.serveUntilMs);
          // Either a real refresh-ahead window, not sooner than the minimum interval, or none at all.
          if (t.refreshAtMs < t.serveUntilMs) {
            expect(t.refreshAtMs).toBeGreaterThanOrEqual(now + config.minRefreshIntervalMs);
            const remaining = t.expiresAtMs - t.refreshAtMs;
            expect(remaining).toBeGreaterThanOrEqual(Math.min(config.minRefreshAheadMs, t.expiresAtMs - now - config.minRefreshIntervalMs));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
