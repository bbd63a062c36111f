import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConcurrencyLimiter } from "./concurrency-limiter.js";

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("ConcurrencyLimiter", () => {
  it("never runs more than `limit` tasks, runs all of them, starts them FIFO (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ ticks: fc.integer({ min: 0, max: 3 }), fails: fc.boolean() }), { maxLength: 25 }),
        async (limit, tasks) => {
          const limiter = new ConcurrencyLimiter(limit);
          let active = 0;
          let peak = 0;
          const started: number[] = [];
          const results = await Promise.allSettled(
            tasks.map((t, i) =>
              limiter.run(async () => {
                started.push(i);
                active++;
                peak = Math.max(peak, active);
                for (let k = 0; k < t.ticks; k++) await tick();
                active--;
                if (t.fails) throw new Error(`task ${i}`);
                return i;
              }),
            ),
          );
          expect(peak).toBeLessThanOrEqual(limit);
          expect(started).toEqual(tasks.map((_, i) => i));
          results.forEach((r, i) => expect(r.status).toBe(tasks[i]!.fails ? "rejected" : "fulfilled"));
          expect(limiter.running).toBe(0);
          expect(limiter.queued).toBe(0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("refuses a limit below 1", () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(RangeError);
    expect(() => new ConcurrencyLimiter(1.5)).toThrow(RangeError);
  });
});
