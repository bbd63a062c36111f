/** The revisioned store: history replay, snapshots at past revisions, and compaction. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "./json.js";
import { ObjectStore } from "./object-store.js";

type Op = { readonly put: string; readonly value: number } | { readonly remove: string };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ put: fc.constantFrom("a", "b", "c"), value: fc.nat(5) }),
  fc.record({ remove: fc.constantFrom("a", "b", "c") }),
);

function obj(name: string, value: number): KubeObject {
  return { metadata: { name, namespace: "ns" }, data: { v: String(value) } };
}

describe("ObjectStore", () => {
  it("replays exactly the later events and rebuilds the state at any retained revision", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), fc.integer({ min: 1, max: 30 }), (ops, historySize) => {
        const store = new ObjectStore({ historySize });
        const states: Map<string, number>[] = [new Map()];
        const model = new Map<string, number>();
        for (const op of ops) {
          if ("put" in op) {
            const event = store.put("configmaps", obj(op.put, op.value));
            expect(event.type).toBe(model.has(op.put) ? "MODIFIED" : "ADDED");
            model.set(op.put, op.value);
          } else {
            const event = store.remove("configmaps", "ns", op.remove);
            expect(event === undefined).toBe(!model.has(op.remove));
            model.delete(op.remove);
          }
          while (states.length <= store.revision) states.push(new Map(model));
        }
        expect(store.revision).toBe(states.length - 1);
        for (let r = 0; r <= store.revision; r += 1) {
          const snapshot = store.snapshot("configmaps", r);
          const events = store.eventsSince(r);
          if (r < store.compactedRevision) {
            expect(snapshot).toBe("expired");
            expect(events).toBe("expired");
            continue;
          }
          const expected = [...(states[r] ?? new Map<string, number>()).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
          expect(snapshot !== "expired" && snapshot.map((o) => [o.metadata["name"], Number((o["data"] as { v: string }).v)])).toEqual(expected);
          expect(events !== "expired" && events.map((e) => e.revision)).toEqual(Array.from({ length: store.revision - r }, (_, i) => r + i + 1));
        }
        // The history never holds more than its size, so what it forgot is compacted.
        expect(store.compactedRevision).toBe(Math.max(0, store.revision - historySize));
      }),
      { numRuns: 150 },
    );
  });

  it("compact() makes every issued revision expire and leaves the next one usable", () => {
    const store = new ObjectStore();
    store.put("pods", obj("a", 1));
    const before = store.revision;
    store.compact();
    expect(store.revision).toBe(before + 1);
    expect(store.eventsSince(before)).toBe("expired");
    expect(store.eventsSince(store.revision)).toEqual([]);
    store.put("pods", obj("b", 1));
    expect(store.eventsSince(before + 1)).not.toBe("expired");
  });

  it("hands out copies, never its own objects", () => {
    const store = new ObjectStore();
    store.put("pods", obj("a", 1));
    const copy = store.get("pods", "ns", "a");
    (copy?.["data"] as { v: string }).v = "changed";
    expect(store.list("pods")[0]?.["data"]).toEqual({ v: "1" });
  });
});
