import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatGoDuration, parseGoDuration } from "./go-duration.js";

describe("parseGoDuration (Go's time.ParseDuration)", () => {
  it("adds up any sequence of <number><unit> parts", () => {
    const unit = fc.constantFrom(["h", 3_600_000], ["m", 60_000], ["s", 1_000], ["ms", 1], ["us", 0.001], ["µs", 0.001], ["ns", 0.000001]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 10_000 }), unit), { minLength: 1, maxLength: 5 }), fc.constantFrom("", "+", "-"), (parts, sign) => {
        const text = sign + parts.map(([n, [u]]) => `${n}${u}`).join("");
        const expected = (sign === "-" ? -1 : 1) * parts.reduce((sum, [n, [, ms]]) => sum + n * ms, 0);
        expect(parseGoDuration(text)).toBeCloseTo(expected, 6);
      }),
      { numRuns: 200 },
    );
  });

  it("reads back what formatGoDuration prints, for whole milliseconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10 * 86_400_000, max: 10 * 86_400_000 }), (ms) => {
        expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
      }),
      { numRuns: 200 },
    );
  });

  it("rejects what Go rejects", () => {
    for (const bad of ["", "15", "1.5", "s", ".s", "1x", "1h-5m", "--1s", "1 s", "1S", "1sec", " 1s"]) expect(parseGoDuration(bad), bad).toBeUndefined();
  });

  it("reads the original's defaults and fractions as Go does", () => {
    expect(parseGoDuration("15s")).toBe(15_000);
    expect(parseGoDuration("3m")).toBe(180_000);
    expect(parseGoDuration("3600s")).toBe(3_600_000);
    expect(parseGoDuration("1h30m")).toBe(5_400_000);
    expect(parseGoDuration("1.5s")).toBe(1_500);
    expect(parseGoDuration(".5s")).toBe(500);
    expect(parseGoDuration("0")).toBe(0);
    expect(formatGoDuration(3_600_000)).toBe("1h0m0s");
    expect(formatGoDuration(180_000)).toBe("3m0s");
    expect(formatGoDuration(250)).toBe("250ms");
  });
});
