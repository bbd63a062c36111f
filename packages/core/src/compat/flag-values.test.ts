import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBoolFlag, parseChoiceFlag, parseDurationFlag, parseIntegerFlag, parseIpFlag, parseNumberFlag } from "./flag-values.js";

const padding = fc.constantFrom("", " ", "\t", "  ");
const value = <T>(result: { ok: true; value: T } | { ok: false }) => (result.ok ? result.value : undefined);

describe("flag values", () => {
  it("reads integers in range, padded or not, and nothing else", () => {
    fc.assert(
      fc.property(fc.integer({ min: -50, max: 150 }), padding, padding, (n, before, after) => {
        const parsed = parseIntegerFlag(`${before}${n}${after}`, 0, 100);
        expect(value(parsed)).toBe(n >= 0 && n <= 100 ? n : undefined);
      }),
      { numRuns: 300 },
    );
    for (const bad of ["", "1.0", "1e2", "+5", "0x10", "5 5"]) expect(parseIntegerFlag(bad, 0, 1_000)).toEqual({ ok: false, error: { kind: "invalidFlagValue", expected: "an integer from 0 to 1000" } });
  });

  it("reads finite numbers against an inclusive or exclusive lower bound", () => {
    fc.assert(
      fc.property(fc.double({ min: -10, max: 10, noNaN: true }), (n) => {
        const written = Number(String(n)); // -0 is written "0"
        expect(value(parseNumberFlag(String(n), { atLeast: 0 }))).toBe(written >= 0 ? written : undefined);
        expect(value(parseNumberFlag(String(n), { above: 0 }))).toBe(written > 0 ? written : undefined);
      }),
      { numRuns: 300 },
    );
    for (const bad of ["", " ", "Infinity", "NaN", "abc"]) expect(parseNumberFlag(bad, { atLeast: 0 }).ok).toBe(false);
    expect(parseNumberFlag("0", { above: 0 })).toEqual({ ok: false, error: { kind: "invalidFlagValue", expected: "a number above 0" } });
  });

  it("reads Go booleans exactly (no padding: Go's flag package has none)", () => {
    expect([value(parseBoolFlag("T")), value(parseBoolFlag("0")), parseBoolFlag(" true").ok]).toEqual([true, false, false]);
  });

  it("reads IP addresses in canonical form", () => {
    fc.assert(
      fc.property(fc.ipV4(), padding, (ip, pad) => {
        expect(value(parseIpFlag(`${pad}${ip}${pad}`))).toBe(ip);
      }),
      { numRuns: 200 },
    );
    expect(value(parseIpFlag("::FFFF:127.0.0.1"))).toBe("127.0.0.1");
    for (const bad of ["", "localhost", "256.0.0.1", "1.2.3"]) expect(parseIpFlag(bad).ok).toBe(false);
  });

  it("reads a choice exactly, or in any casing when asked", () => {
    const levels = ["debug", "info"] as const;
    expect([value(parseChoiceFlag(" info ", levels)), parseChoiceFlag("INFO", levels).ok, value(parseChoiceFlag("INFO", levels, { caseInsensitive: true }))]).toEqual(["info", false, "info"]);
    expect(parseChoiceFlag("trace", levels)).toEqual({ ok: false, error: { kind: "invalidFlagValue", expected: "one of debug, info" } });
  });

  it("reads Go durations with a lower bound", () => {
    expect([value(parseDurationFlag(" 3m ", 0)), value(parseDurationFlag("0", 0))]).toEqual([180_000, 0]);
    expect(parseDurationFlag("-1s", 0)).toEqual({ ok: false, error: { kind: "invalidFlagValue", expected: "a duration that is not negative" } });
    expect(parseDurationFlag("500ms", 1_000)).toEqual({ ok: false, error: { kind: "invalidFlagValue", expected: "a duration of at least 1s" } });
    expect(parseDurationFlag("15", 0).ok).toBe(false);
  });
});
