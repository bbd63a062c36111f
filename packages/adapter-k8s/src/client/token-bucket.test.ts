import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "@podid/testkit";
import { TokenBucketRateLimiter } from "./token-bucket.js";

describe("TokenBucketRateLimiter", () => {
  it("lets a burst through, then paces at qps (the original's 5/5 default)", () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucketRateLimiter({ qps: 5, burst: 5, clock });
    const waits = Array.from({ length: 8 }, () => bucket.reserve());
    expect(waits).toEqual([0, 0, 0, 0, 0, 200, 400, 600]);
  });

  it("never admits more than burst + qps × window requests in any window (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }),
        async (qps, burst, gaps) => {
          const clock = new VirtualClock({ startMs: 0 });
          const bucket = new TokenBucketRateLimiter({ qps, burst, clock });
          const admitted: number[] = [];
          const pending: Promise<void>[] = [];
          for (const gap of gaps) {
            await clock.advanceAsync(gap);
            pending.push(bucket.acquire().then(() => void admitted.push(clock.now())));
          }
          await clock.runUntilIdleAsync();
          await Promise.all(pending);
          expect(admitted).toHaveLength(gaps.length);
          // Admission times are non-decreasing (FIFO) and any window of length w holds at most burst + qps·w/1000.
          for (let i = 1; i < admitted.length; i++) expect(admitted[i]!).toBeGreaterThanOrEqual(admitted[i - 1]!);
          for (let i = 0; i < admitted.length; i++) {
            for (let j = i; j < admitted.length; j++) {
              const window = admitted[j]! - admitted[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(burst + Math.ceil((qps * window) / 1000) + 0);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refills while idle, up to burst only", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 2, burst: 3, clock });
    expect([bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire()]).toEqual([true, true, true, false]);
    clock.advance(500);
    expect(bucket.tryAcquire()).toBe(true);
    expect(bucket.tryAcquire()).toBe(false);
    clock.advance(60_000);
    expect([bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire()]).toEqual([true, true, true, false]);
  });

  it("Infinity disables limiting; nonsense settings are refused", () => {
    const clock = new VirtualClock();
    const free = new TokenBucketRateLimiter({ qps: Number.POSITIVE_INFINITY, burst: 1, clock });
    expect(Array.from({ length: 100 }, () => free.reserve()).every((w) => w === 0)).toBe(true);
    expect(() => new TokenBucketRateLimiter({ qps: 0, burst: 1, clock })).toThrow(RangeError);
    expect(() => new TokenBucketRateLimiter({ qps: 1, burst: 0, clock })).toThrow(RangeError);
  });
});
