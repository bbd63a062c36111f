import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fakeGuid } from "./fake-ids.js";

describe("fakeGuid", () => {
  it("property: GUID-shaped and deterministic per seed", () => {
    fc.assert(
      fc.property(fc.string(), (seed) => {
        const guid = fakeGuid(seed);
        expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(fakeGuid(seed)).toBe(guid);
      }),
      { numRuns: 200 },
    );
  });

  it("gives different GUIDs to different seeds", () => {
    const seeds = Array.from({ length: 5000 }, (_, i) => `seed-${i}`);
    expect(new Set(seeds.map(fakeGuid)).size).toBe(seeds.length);
  });
});
