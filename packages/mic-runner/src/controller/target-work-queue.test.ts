import fc from "fast-check";
import { VirtualClock } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import { TargetWorkQueue } from "./target-work-queue.js";

const T0 = 1_700_000_000_000;

/** A queue on a virtual clock whose runs take `durationMs(key)` and are logged with their start and end. */
function harness(options: { concurrency?: number; durationMs?: (key: string) => number } = {}) {
  const clock = new VirtualClock({ startMs: T0 });
  const log: { key: string; payload: string | undefined; start: number; end?: number }[] = [];
  const queue = new TargetWorkQueue<string>(clock, {
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    run: async (key, payload) => {
      const entry: { key: string; payload: string | undefined; start: number; end?: number } = { key, payload, start: clock.now() - T0 };
      log.push(entry);
      await clock.sleep(options.durationMs?.(key) ?? 0);
      entry.end = clock.now() - T0;
    },
  });
  const at = (ms: number) => T0 + ms;
  return { clock, queue, log, at };
}

describe("TargetWorkQueue", () => {
  it("runs a key no earlier than its wake-up time, once for all marks made before it starts (earliest time, latest payload)", async () => {
    const { clock, queue, log, at } = harness();
    queue.mark("a", at(100), "first");
    queue.mark("a", at(50), "second");
    queue.mark("a", at(300));
    expect(queue.dueAt("a")).toBe(at(50));
    await clock.advanceAsync(49);
    expect(log).toEqual([]);
    await clock.advanceAsync(1_000);
    expect(log).toEqual([{ key: "a", payload: "second", start: 50, end: 50 }]);
    expect(queue.size).toBe(0);
  });

  it("never runs a key twice at once: marks during a run make exactly one more run, after it ends", async () => {
    const { clock, queue, log } = harness({ durationMs: () => 100 });
    queue.mark("a");
    await clock.advanceAsync(10);
    expect(queue.isRunning("a")).toBe(true);
    queue.mark("a", undefined, "x");
    queue.mark("a", undefined, "y");
    await clock.advanceAsync(1_000);
    expect(log.map(({ start, end, payload }) => ({ start, end, payload }))).toEqual([
      { start: 0, end: 100, payload: undefined },
      { start: 100, end: 200, payload: "y" },
    ]);
  });

  it("a mark made during a run with a later wake-up waits for that time, not just for the run to end", async () => {
    const { clock, queue, log, at } = harness({ durationMs: () => 100 });
    queue.mark("a");
    await clock.advanceAsync(10);
    queue.mark("a", at(500));
    await clock.advanceAsync(2_000);
    expect(log.map((e) => e.start)).toEqual([0, 500]);
  });

  it("runs at most `concurrency` keys at once; the others start as slots free, in the order they fell due", async () => {
    const { clock, queue, log, at } = harness({ concurrency: 2, durationMs: (key) => (key === "a" ? 100 : 300) });
    queue.mark("c", at(2));
    queue.mark("a", at(0));
    queue.mark("b", at(1));
    queue.mark("d", at(3));
    await clock.advanceAsync(5);
    expect(queue.running).toBe(2);
    await clock.advanceAsync(2_000);
    expect(log.map(({ key, start }) => [key, start])).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 100],
      ["d", 301],
    ]);
  });

  it("dropPending forgets waiting keys but not running ones; stop starts nothing more and whenIdle waits for the runs", async () => {
    const { clock, queue, log } = harness({ concurrency: 1, durationMs: () => 100 });
    queue.mark("a");
    queue.mark("b");
    await clock.advanceAsync(10);
    queue.dropPending();
    expect([queue.has("a"), queue.has("b")]).toEqual([true, false]);
    queue.mark("c");
    queue.stop();
    queue.mark("d");
    let idle = false;
    void queue.whenIdle().then(() => (idle = true));
    await clock.advanceAsync(50);
    expect(idle).toBe(false);
    await clock.advanceAsync(1_000);
    expect(idle).toBe(true);
    expect(log.map((e) => e.key)).toEqual(["a"]);
  });

  it("reports a rejected run and keeps working", async () => {
    const clock = new VirtualClock({ startMs: T0 });
    const errors: string[] = [];
    let runs = 0;
    const queue = new TargetWorkQueue(clock, {
      run: async () => {
        runs += 1;
        throw new Error("boom");
      },
      onError: (error, key) => errors.push(`${key}: ${(error as Error).message}`),
    });
    queue.mark("a");
    await clock.advanceAsync(1);
    queue.mark("a");
    await clock.advanceAsync(1);
    expect(runs).toBe(2);
    expect(errors).toEqual(["a: boom", "a: boom"]);
  });

  it("property: one run per key at a time, within the concurrency, never before a wake-up, never late, and every mark is served", async () => {
    const step = fc.record({ key: fc.constantFrom("a", "b", "c", "d"), delay: fc.nat(60), gap: fc.nat(40) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(50), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 3 }), async (steps, durations, concurrency) => {
        const clock = new VirtualClock({ startMs: 0 });
        let nextDuration = 0;
        const active = new Set<string>();
        /** Per key: the wake-up times of marks not yet served by a run that started after them. */
        const waiting = new Map<string, number[]>();
        const lastMark = new Map<string, number>();
        const lastStart = new Map<string, number>();
        const violations: string[] = [];
        const queue = new TargetWorkQueue(clock, {
          concurrency,
          run: async (key) => {
            const now = clock.now();
            if (active.has(key)) violations.push(`${key} ran twice at once at ${now}`);
            if (active.size >= concurrency) violations.push(`more than ${concurrency} runs at ${now}`);
            const served = waiting.get(key) ?? [];
            if (served.length === 0) violations.push(`${key} ran at ${now} without a mark`);
            if (Math.min(...served) > now) violations.push(`${key} ran at ${now} before its wake-up ${Math.min(...served)}`);
            waiting.set(key, []);
            lastStart.set(key, now);
            active.add(key);
            await clock.sleep(durations[nextDuration++ % durations.length] ?? 0);
            active.delete(key);
          },
        });
        /** A key that is due, not running, with a free slot, must have been started by now. */
        const checkNotLate = () => {
          for (const [key, dues] of waiting) {
            if (dues.length > 0 && Math.min(...dues) < clock.now() && !active.has(key) && active.size < concurrency) violations.push(`${key} due at ${Math.min(...dues)} still waits at ${clock.now()}`);
          }
        };
        for (const { key, delay, gap } of steps) {
          const atMs = clock.now() + delay;
          queue.mark(key, atMs);
          waiting.set(key, [...(waiting.get(key) ?? []), atMs]);
          lastMark.set(key, clock.now());
          await clock.advanceAsync(gap);
          checkNotLate();
        }
        await clock.advanceAsync(10_000);
        checkNotLate();
        for (const [key, markedAt] of lastMark) {
          if ((lastStart.get(key) ?? -1) < markedAt) violations.push(`${key} marked at ${markedAt} was never run after it`);
        }
        expect(violations).toEqual([]);
        expect(queue.size).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
