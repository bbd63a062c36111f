import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sliceOrder, williamsRows } from "./slice-order.js";

describe("williamsRows", () => {
  it("is a Latin square balanced for carry-over: every item in every position equally often, after every other equally often", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), (n) => {
        const rows = williamsRows(n);
        expect(rows.length).toBe(n % 2 === 0 ? n : 2 * n);
        for (const row of rows) expect([...row].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        for (let position = 0; position < n; position++) {
          const counts = new Map<number, number>();
          for (const row of rows) counts.set(row[position]!, (counts.get(row[position]!) ?? 0) + 1);
          expect(new Set(counts.values()).size).toBe(1);
          expect(counts.size).toBe(n);
        }
        const follows = new Map<string, number>();
        for (const row of rows) for (let k = 1; k < n; k++) follows.set(`${String(row[k - 1])}>${String(row[k])}`, (follows.get(`${String(row[k - 1])}>${String(row[k])}`) ?? 0) + 1);
        if (n > 1) {
          expect(follows.size).toBe(n * (n - 1));
          expect(new Set(follows.values()).size).toBe(1);
        }
      }),
    );
  });

  it("refuses a size that is not a whole number ≥ 1", () => {
    expect(() => williamsRows(0)).toThrow(RangeError);
    expect(() => williamsRows(2.5)).toThrow(RangeError);
  });
});

describe("sliceOrder", () => {
  it("gives the three variants a different predecessor from slice to slice (a rotation would not)", () => {
    const variants = ["bare", "shipped", "decided"] as const;
    const predecessors = new Set<string>();
    for (let slice = 0; slice < 6; slice++) {
      const order = sliceOrder(variants, slice);
      const i = order.indexOf("shipped");
      if (i > 0) predecessors.add(order[i - 1]!);
    }
    expect(predecessors).toEqual(new Set(["bare", "decided"]));
  });
});
