import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasHeader, singleHeader } from "./headers.js";

describe("header access", () => {
  it("finds values under any case of the name, single or repeated", () => {
    fc.assert(
      fc.property(fc.mixedCase(fc.constant("metadata")), fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 3 }), (name, values) => {
        const headers = { [name]: values.length === 1 ? values[0] : values, other: "x" };
        expect(hasHeader(headers, "METADATA")).toBe(true);
        expect(singleHeader(headers, "metadata")).toBe(values.length === 1 ? values[0] : undefined);
      }),
      { numRuns: 200 },
    );
  });

  it("treats undefined values as absent and two spellings of one name as a repeated header", () => {
    expect(hasHeader({ metadata: undefined }, "metadata")).toBe(false);
    expect(singleHeader({ Metadata: "true", metadata: ["a", "b"] }, "metadata")).toBeUndefined();
    expect(singleHeader({}, "podns")).toBeUndefined();
  });

  it("agrees with the plain definitions on any header object (several spellings, arrays, undefined)", () => {
    const name = fc.oneof(fc.mixedCase(fc.constantFrom("metadata", "forwarded", "x-forwarded-for")), fc.string({ maxLength: 8 }));
    const value = fc.oneof(fc.string({ maxLength: 4 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }), fc.constant(undefined));
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 6 }), fc.constantFrom("Metadata", "Forwarded", "X-Forwarded-For"), (headers, wanted) => {
        const all = Object.entries(headers)
          .filter(([k, v]) => k.toLowerCase() === wanted.toLowerCase() && v !== undefined)
          .flatMap(([, v]) => (typeof v === "string" ? [v] : (v ?? [])));
        expect(hasHeader(headers, wanted)).toBe(Object.entries(headers).some(([k, v]) => k.toLowerCase() === wanted.toLowerCase() && v !== undefined));
        expect(singleHeader(headers, wanted)).toBe(all.length === 1 ? all[0] : undefined);
      }),
      { numRuns: 500 },
    );
  });
});
