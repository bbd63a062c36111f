import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ObjectIndex } from "./object-index.js";

interface Obj {
  readonly tags: readonly string[];
  readonly v: number;
}

describe("ObjectIndex", () => {
  it("always answers exactly what a scan of the current objects would (property)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key: fc.constantFrom("a", "b", "c", "d"), tags: fc.array(fc.constantFrom("x", "y", "z"), { maxLength: 3 }), v: fc.nat() }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.constantFrom("a", "b", "c", "d", "e") }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const index = new ObjectIndex<Obj>((o) => o.tags);
        const model = new Map<string, Obj>();
        for (const o of ops) {
          if (o.kind === "set") {
            const obj = { tags: o.tags, v: o.v };
            index.set(o.key, obj);
            model.set(o.key, obj);
          } else {
            index.delete(o.key);
            model.delete(o.key);
          }
        }
        for (const tag of ["x", "y", "z"]) {
          const expected = [...model.entries()].filter(([, obj]) => obj.tags.includes(tag)).sort(([a], [b]) => a.localeCompare(b)).map(([, obj]) => obj);
          expect(index.get(tag)).toEqual(expected);
        }
        expect([...index.keys()].sort()).toEqual(["x", "y", "z"].filter((t) => [...model.values()].some((o) => o.tags.includes(t))));
      }),
    );
  });
});
