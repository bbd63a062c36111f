import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cancelFair, createFairQueue, dequeueFair, enqueueFair, queuedFor, type FairQueueState } from "./fair-queue.js";

const drain = (state: FairQueueState): string[] => {
  const order: string[] = [];
  let s = state;
  for (;;) {
    const step = dequeueFair(s);
    s = step.state;
    if (step.key === undefined) return order;
    order.push(step.key);
  }
};

type Op = { readonly op: "enqueue"; readonly pod: number } | { readonly op: "dequeue" } | { readonly op: "cancel"; readonly pod: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("enqueue" as const), pod: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 4, arbitrary: fc.constant({ op: "dequeue" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), pod: fc.integer({ min: 0, max: 5 }) }) },
);

describe("fair queue: documented cases", () => {
  it("serves backlogged pods round robin and lets a newcomer go next", () => {
    let s = createFairQueue();
    for (let i = 0; i < 3; i++) s = enqueueFair(s, "a", 64).state;
    s = enqueueFair(s, "b", 64).state;
    s = dequeueFair(s).state; // a
    s = dequeueFair(s).state; // b
    s = enqueueFair(s, "c", 64).state; // newcomer
    expect(drain(s)).toEqual(["c", "a", "a"]);
  });

  it("when full, a newcomer pushes out the newest call of the longest line; a pod cannot push out itself", () => {
    let s = createFairQueue();
    for (let i = 0; i < 4; i++) s = enqueueFair(s, "flood", 4).state;
    const newcomer = enqueueFair(s, "victim", 4);
    expect(newcomer.outcome).toEqual({ kind: "queuedEvicting", evicted: "flood" });
    expect(queuedFor(newcomer.state, "flood")).toBe(3);
    expect(enqueueFair(newcomer.state, "flood", 4).outcome).toEqual({ kind: "full" });
  });
});

describe("fair queue: properties", () => {
  it("with N pods backlogged, each pod's k-th call starts before any pod's (k+1)-th", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 80 }), (arrivals) => {
        let s = createFairQueue();
        for (const pod of arrivals) s = enqueueFair(s, `p${String(pod)}`, 1_000).state;
        const order = drain(s);
        expect(order).toHaveLength(arrivals.length);
        const served = new Map<string, number>();
        const ordinals = order.map((k) => {
          const n = (served.get(k) ?? 0) + 1;
          served.set(k, n);
          return n;
        });
        for (let i = 1; i < ordinals.length; i++) expect(ordinals[i]).toBeGreaterThanOrEqual(ordinals[i - 1] ?? 0);
      }),
      { numRuns: 300 },
    );
  });

  it("conserves calls, never exceeds the cap, serves a newcomer after only earlier newcomers, and keeps every backlogged pod within two calls of any other", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(opArb, { maxLength: 200 }), (cap, ops) => {
        let s = createFairQueue();
        const model = new Map<string, number>();
        /** For each pod waiting as a newcomer: how many dequeues it may still see before its own. */
        const newcomerBudget = new Map<string, number>();
        /** Other pods' services since each backlogged pod was last served or became backlogged. */
        const sinceServed = new Map<string, Map<string, number>>();
        for (const o of ops) {
          if (o.op === "enqueue") {
            const key = `p${String(o.pod)}`;
            const wasMember = s.newcomers.includes(key) || s.rotation.includes(key);
            const step = enqueueFair(s, key, cap);
            s = step.state;
            if (step.outcome.kind === "full") {
              expect(s.total).toBe(cap);
              continue;
            }
            if (step.outcome.kind === "queuedEvicting") {
              const ev = step.outcome.evicted;
              expect(ev).not.toBe(key);
              expect((model.get(ev) ?? 0) - 1).toBeGreaterThan(model.get(key) ?? 0);
              model.set(ev, (model.get(ev) ?? 0) - 1);
            }
            model.set(key, (model.get(key) ?? 0) + 1);
            if (!wasMember) newcomerBudget.set(key, s.newcomers.indexOf(key));
            if (!sinceServed.has(key)) sinceServed.set(key, new Map());
          } else if (o.op === "cancel") {
            const key = `p${String(o.pod)}`;
            s = cancelFair(s, key);
            if ((model.get(key) ?? 0) > 0) model.set(key, (model.get(key) ?? 0) - 1);
          } else {
            const step = dequeueFair(s);
            s = step.state;
            const total = [...model.values()].reduce((a, b) => a + b, 0);
            if (step.key === undefined) {
              expect(total).toBe(0);
              continue;
            }
            const key = step.key;
            expect(model.get(key) ?? 0).toBeGreaterThan(0);
            model.set(key, (model.get(key) ?? 0) - 1);
            for (const [pod, left] of newcomerBudget) {
              if (pod === key) newcomerBudget.delete(pod);
              else if ((model.get(pod) ?? 0) > 0) {
                expect(left).toBeGreaterThan(0);
                newcomerBudget.set(pod, left - 1);
              } else newcomerBudget.delete(pod);
            }
            for (const [pod, others] of sinceServed) {
              if (pod === key || (model.get(pod) ?? 0) === 0) {
                sinceServed.set(pod, new Map());
                continue;
              }
              const n = (others.get(key) ?? 0) + 1;
              expect(n).toBeLessThanOrEqual(2);
              others.set(key, n);
            }
          }
          for (const [key, n] of model) expect(queuedFor(s, key)).toBe(n);
          expect(s.total).toBe([...model.values()].reduce((a, b) => a + b, 0));
          expect(s.total).toBeLessThanOrEqual(cap);
        }
      }),
      { numRuns: 400 },
    );
  });
});
