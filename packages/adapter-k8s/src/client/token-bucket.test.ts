import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "@podid/testkit";
import { TokenBucketRateLimiter, type RequestClass } from "./token-bucket.js";

/** Sends `classes` in order at the clock's current time and returns when each was admitted (virtual ms), in order of admission. */
async function admissions(clock: VirtualClock, bucket: TokenBucketRateLimiter, classes: readonly RequestClass[]): Promise<{ label: string; atMs: number }[]> {
  const admitted: { label: string; atMs: number }[] = [];
  const pending = classes.map((c, i) => bucket.acquire(c).then(() => void admitted.push({ label: `${c}${i}`, atMs: clock.now() })));
  await clock.runUntilIdleAsync();
  await Promise.all(pending);
  return admitted;
}

describe("TokenBucketRateLimiter", () => {
  it("lets a burst through, then paces at qps (the original's 5/5 default)", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 5, burst: 5, clock });
    const admitted = await admissions(clock, bucket, Array.from({ length: 8 }, () => "work" as const));
    expect(admitted.map((a) => a.atMs)).toEqual([0, 0, 0, 0, 0, 200, 400, 600]);
    expect(admitted.map((a) => a.label)).toEqual(["work0", "work1", "work2", "work3", "work4", "work5", "work6", "work7"]);
  });

  it("gives a due token to waiting work before an Event that waited longer (the old single FIFO served the Event first)", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 10, burst: 1, clock });
    // The bucket's one token goes to the first request; an Event then queues before two AAI writes.
    const admitted = await admissions(clock, bucket, ["work", "event", "work", "work"]);
    expect(admitted).toEqual([
      { label: "work0", atMs: 0 },
      { label: "work2", atMs: 100 },
      { label: "work3", atMs: 200 },
      { label: "event1", atMs: 300 },
    ]);
  });

  it("starves Events while work keeps arriving and serves them, in order, in the gaps", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 10, burst: 2, clock });
    const admitted: string[] = [];
    const track = (label: string, c: RequestClass) => bucket.acquire(c).then(() => void admitted.push(`${label}@${clock.now()}`));
    const all = [track("w0", "work"), track("w1", "work"), track("e0", "event"), track("e1", "event")];
    // Work arrives every 100 ms for a second, exactly as fast as tokens: the Events get none until it stops.
    for (let i = 2; i < 12; i++) {
      all.push(track(`w${i}`, "work"));
      await clock.advanceAsync(100);
    }
    await clock.runUntilIdleAsync();
    await Promise.all(all);
    // The last write took the last token at 1 s; the bucket (2 tokens) is full again at 1.2 s, then every 100 ms.
    expect(admitted.filter((a) => a.startsWith("e"))).toEqual(["e0@1200", "e1@1300"]);
    expect(admitted.slice(0, 12).every((a) => a.startsWith("w"))).toBe(true);
  });

  it("gives Events only a full bucket's overflow, so work arriving after them still finds the burst", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 10, burst: 5, clock });
    const admitted: string[] = [];
    const track = (label: string, c: RequestClass) => bucket.acquire(c).then(() => void admitted.push(`${label}@${clock.now()}`));
    const all = Array.from({ length: 20 }, (_, i) => track(`e${i}`, "event"));
    await clock.advanceAsync(1_050);
    // Events went one per refill (0, 100, …, 1000 ms): the bucket still holds 4.5 tokens for this burst of work.
    all.push(...Array.from({ length: 5 }, (_, i) => track(`w${i}`, "work")));
    await clock.runUntilIdleAsync();
    await Promise.all(all);
    expect(admitted.filter((a) => a.startsWith("w"))).toEqual(["w0@1050", "w1@1050", "w2@1050", "w3@1050", "w4@1100"]);
    expect(admitted.slice(0, 11)).toEqual(Array.from({ length: 11 }, (_, i) => `e${i}@${i * 100}`));
  });

  it("work that starts waiting behind Events gets the next whole token, not the full bucket's", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 10, burst: 10, clock });
    const admitted: string[] = [];
    const track = (label: string, c: RequestClass) => bucket.acquire(c).then(() => void admitted.push(`${label}@${clock.now()}`));
    const all = Array.from({ length: 10 }, (_, i) => track(`w${i}`, "work"));
    all.push(track("e0", "event"));
    await clock.advanceAsync(50);
    // The Event waits for a full bucket (1 s away); this write needs one token only (100 ms after the burst).
    all.push(track("w10", "work"));
    await clock.runUntilIdleAsync();
    await Promise.all(all);
    expect(admitted.slice(-2)).toEqual(["w10@100", "e0@1100"]);
  });

  it("an Event goes at once when a token is there and nothing waits", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 1, burst: 2, clock });
    let admitted = false;
    void bucket.acquire("event").then(() => (admitted = true));
    await Promise.resolve();
    expect(admitted).toBe(true);
    expect(bucket.waiting).toBe(0);
  });

  it("never admits more than burst + qps × window, never lets an Event pass work that was waiting, and serves each class in order (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 400 }), requestClass: fc.constantFrom<RequestClass>("work", "event") }), { minLength: 1, maxLength: 60 }),
        async (qps, burst, requests) => {
          const clock = new VirtualClock({ startMs: 0 });
          const bucket = new TokenBucketRateLimiter({ qps, burst, clock });
          let step = 0;
          const seen: { requestClass: RequestClass; arrived: number; admitted: number; atMs: number }[] = [];
          const pending: Promise<void>[] = [];
          for (const { gap, requestClass } of requests) {
            await clock.advanceAsync(gap);
            const entry = { requestClass, arrived: step++, admitted: Number.NaN, atMs: Number.NaN };
            seen.push(entry);
            pending.push(
              bucket.acquire(requestClass).then(() => {
                entry.admitted = step++;
                entry.atMs = clock.now();
              }),
            );
          }
          await clock.runUntilIdleAsync();
          await Promise.all(pending);
          const times = seen.map((s) => s.atMs).sort((a, b) => a - b);
          for (let i = 0; i < times.length; i++) {
            for (let j = i; j < times.length; j++) expect(j - i + 1).toBeLessThanOrEqual(burst + Math.ceil((qps * (times[j]! - times[i]!)) / 1000));
          }
          for (const event of seen.filter((s) => s.requestClass === "event")) {
            for (const work of seen.filter((s) => s.requestClass === "work" && s.arrived < event.admitted)) expect(work.admitted).toBeLessThan(event.admitted);
          }
          for (const c of ["work", "event"] as const) {
            const ofClass = seen.filter((s) => s.requestClass === c).map((s) => s.admitted);
            expect(ofClass).toEqual([...ofClass].sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refills while idle, up to burst only", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const bucket = new TokenBucketRateLimiter({ qps: 2, burst: 3, clock });
    expect([bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire()]).toEqual([true, true, true, false]);
    clock.advance(500);
    expect(bucket.tryAcquire()).toBe(true);
    expect(bucket.tryAcquire()).toBe(false);
    clock.advance(60_000);
    expect([bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire(), bucket.tryAcquire()]).toEqual([true, true, true, false]);
  });

  it("Infinity disables limiting; nonsense settings are refused", async () => {
    const clock = new VirtualClock();
    const free = new TokenBucketRateLimiter({ qps: Number.POSITIVE_INFINITY, burst: 1, clock });
    await Promise.all(Array.from({ length: 100 }, (_, i) => free.acquire(i % 2 === 0 ? "work" : "event")));
    expect(clock.pendingTimers()).toHaveLength(0);
    expect(() => new TokenBucketRateLimiter({ qps: 0, burst: 1, clock })).toThrow(RangeError);
    expect(() => new TokenBucketRateLimiter({ qps: 1, burst: 0, clock })).toThrow(RangeError);
  });
});
