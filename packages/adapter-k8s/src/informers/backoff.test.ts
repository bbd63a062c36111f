import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_INFORMER_BACKOFF, jitteredBackoffMs } from "./backoff.js";

describe("jitteredBackoffMs", () => {
  it("doubles from initialMs up to maxMs, within the jitter band (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (attempt, initialMs, maxMs, jitter, r) => {
          const options = { initialMs, maxMs, jitter };
          const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
          const delay = jitteredBackoffMs(attempt, options, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(base));
          expect(delay).toBeLessThanOrEqual(Math.ceil(base * (1 + jitter)));
          // Monotone in the attempt number for a fixed random draw.
          expect(jitteredBackoffMs(attempt + 1, options, () => r)).toBeGreaterThanOrEqual(delay);
        },
      ),
    );
  });

  it("follows the documented default schedule", () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 7, 8, 20].map((a) => jitteredBackoffMs(a, DEFAULT_INFORMER_BACKOFF, noJitter))).toEqual([500, 1000, 2000, 30_000, 30_000, 30_000]);
    expect(jitteredBackoffMs(1, DEFAULT_INFORMER_BACKOFF, () => 0.999)).toBe(750);
  });
});
