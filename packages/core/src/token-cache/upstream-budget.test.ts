import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { UpstreamBudgetState } from "./upstream-budget.js";
import {
  admitUpstream,
  cancelQueued,
  createUpstreamBudget,
  DEFAULT_UPSTREAM_BUDGET_CONFIG,
  releaseUpstream,
  startQueued,
  upstreamThrottled,
} from "./upstream-budget.js";

const T0 = 1_700_000_000_000;

describe("upstream budget: documented cases", () => {
  it("defaults to a margin below IMDS's per-VM limits (20/s, 5 at once): 15 starts per second, 4 at once", () => {
    expect(DEFAULT_UPSTREAM_BUDGET_CONFIG).toMatchObject({ maxStartsPerWindow: 15, windowMs: 1000, maxConcurrent: 4 });
    let s = createUpstreamBudget();
    for (let i = 0; i < 4; i++) {
      const step = admitUpstream(s, T0);
      expect(step.decision).toEqual({ kind: "start" });
      s = step.state;
    }
    const fifth = admitUpstream(s, T0);
    expect(fifth.decision).toEqual({ kind: "queue" }); // only concurrency blocks: no time to suggest
    s = releaseUpstream(fifth.state);
    expect(startQueued(s, T0).decision).toEqual({ kind: "start" });
  });

  it("queues by rate until 1 ms after the window (closed at both ends) frees a slot, and rejects once the queue is full", () => {
    let s = createUpstreamBudget({ maxConcurrent: 100, maxStartsPerWindow: 2, maxQueued: 1 });
    s = admitUpstream(s, T0).state;
    s = admitUpstream(s, T0 + 300).state;
    const third = admitUpstream(s, T0 + 400);
    expect(third.decision).toEqual({ kind: "queue", retryAtMs: T0 + 1001 });
    const fourth = admitUpstream(third.state, T0 + 500);
    expect(fourth.decision).toEqual({ kind: "rejectWithRetryAfter", retryAfterMs: 1000 });
    // Exactly one window after the first start is still inside its window: two starts 1000 ms apart
    // would put three in the closed span [T0, T0 + 1000].
    expect(startQueued(third.state, T0 + 1000).decision).toEqual({ kind: "wait", retryAtMs: T0 + 1001 });
    expect(startQueued(third.state, T0 + 1001).decision).toEqual({ kind: "start" });
  });

  it("pauses after an upstream 429 for its Retry-After", () => {
    const s = upstreamThrottled(createUpstreamBudget(), 5_000, T0);
    expect(admitUpstream(s, T0 + 4_999).decision).toEqual({ kind: "queue", retryAtMs: T0 + 5_000 });
    expect(admitUpstream(s, T0 + 5_000).decision).toEqual({ kind: "start" });
    expect(upstreamThrottled(s, 1_000, T0 + 1).pausedUntilMs).toBe(T0 + 5_000);
  });
});

type Op =
  | { kind: "admit" }
  | { kind: "release" }
  | { kind: "startQueued" }
  | { kind: "cancel" }
  | { kind: "throttled"; ms: number }
  | { kind: "advance"; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "admit" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "release" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "startQueued" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "cancel" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("throttled" as const), ms: fc.integer({ min: 0, max: 3_000 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 700 }) }) },
);

describe("upstream budget: properties", () => {
  it("never exceeds the concurrency or the rate in any window, honours pauses and FIFO, and its hints are right", () => {
    fc.assert(
      fc.property(
        fc.record({
          maxStartsPerWindow: fc.integer({ min: 1, max: 8 }),
          windowMs: fc.integer({ min: 100, max: 2_000 }),
          maxConcurrent: fc.integer({ min: 1, max: 6 }),
          maxQueued: fc.integer({ min: 0, max: 5 }),
          minRetryAfterMs: fc.integer({ min: 1, max: 2_000 }),
        }),
        fc.array(op, { maxLength: 200, size: "medium" }),
        (config, ops) => {
          let s: UpstreamBudgetState = createUpstreamBudget(config);
          let now = T0;
          let inFlight = 0;
          let queued = 0;
          let pausedUntil = 0;
          const starts: number[] = [];
          const started = (): void => {
            expect(now).toBeGreaterThanOrEqual(pausedUntil);
            starts.push(now);
            inFlight++;
            expect(inFlight).toBeLessThanOrEqual(config.maxConcurrent);
          };
          for (const o of ops) {
            if (o.kind === "advance") now += o.ms;
            else if (o.kind === "throttled") {
              s = upstreamThrottled(s, o.ms, now);
              pausedUntil = Math.max(pausedUntil, now + o.ms);
            } else if (o.kind === "release") {
              if (inFlight === 0) continue;
              s = releaseUpstream(s);
              inFlight--;
            } else if (o.kind === "cancel") {
              if (queued === 0) continue;
              s = cancelQueued(s);
              queued--;
            } else if (o.kind === "admit") {
              const step = admitUpstream(s, now);
              s = step.state;
              const d = step.decision;
              if (d.kind === "start") {
                expect(queued).toBe(0); // FIFO: nobody overtakes a waiting caller
                started();
              } else if (d.kind === "queue") {
                expect(queued).toBeLessThan(config.maxQueued);
                queued++;
                if (d.retryAtMs !== undefined) expect(d.retryAtMs).toBeGreaterThan(now);
              } else {
                expect(queued).toBe(config.maxQueued);
                expect(d.retryAfterMs).toBeGreaterThanOrEqual(config.minRetryAfterMs);
              }
            } else {
              const step = startQueued(s, now);
              s = step.state;
              const d = step.decision;
              if (queued === 0) expect(d.kind).toBe("empty");
              else if (d.kind === "start") {
                queued--;
                started();
              } else {
                expect(d.kind).toBe("wait");
                // Nothing but a busy slot, the window or a pause may hold a waiting caller back.
                const inWindow = starts.filter((t) => t >= now - config.windowMs).length;
                expect(inFlight >= config.maxConcurrent || inWindow >= config.maxStartsPerWindow || now < pausedUntil).toBe(true);
                if (d.kind === "wait" && d.retryAtMs !== undefined && inFlight < config.maxConcurrent) {
                  // The hint is exact: at retryAtMs the head of the queue can start.
                  expect(startQueued(s, d.retryAtMs).decision).toEqual({ kind: "start" });
                }
              }
            }
            expect(s.inFlight).toBe(inFlight);
            expect(s.queued).toBe(queued);
          }
          for (const a of starts) {
            // Closed spans: no `windowMs` span, both ends included, holds more than the limit.
            expect(starts.filter((t) => t >= a && t <= a + config.windowMs).length).toBeLessThanOrEqual(config.maxStartsPerWindow);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
