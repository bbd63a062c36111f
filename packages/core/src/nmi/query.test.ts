import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lenientPercentDecode, percentDecode } from "./percent-encoding.js";
import { parseQuery } from "./query.js";

/** Form-encodes like browsers and SDKs do (`encodeURIComponent`, spaces sometimes as `+`). */
function formEncode(text: string, plus: boolean): string {
  const encoded = encodeURIComponent(text);
  return plus ? encoded.replace(/%20/g, "+") : encoded;
}

const wellFormed = fc.string({ unit: "grapheme", maxLength: 10 });

describe("percentDecode", () => {
  it("inverts encodeURIComponent for any well-formed text", () => {
    fc.assert(
      fc.property(wellFormed, (text) => {
        expect(percentDecode(encodeURIComponent(text))).toEqual({ ok: true, value: text });
      }),
      { numRuns: 1000 },
    );
  });

  it("fails exactly when decodeURIComponent fails (same strictness)", () => {
    const escapeLike = fc.string({ unit: fc.constantFrom("%", "a", "F", "0", "9", "g", "C", "3", "8", "E", "2", "/"), maxLength: 12 });
    fc.assert(
      fc.property(escapeLike, (input) => {
        let expected: string | undefined;
        try {
          expected = decodeURIComponent(input);
        } catch {
          expected = undefined;
        }
        const actual = percentDecode(input);
        expect(actual.ok ? actual.value : undefined).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads + as space only in form mode", () => {
    expect(percentDecode("a+b")).toEqual({ ok: true, value: "a+b" });
    expect(percentDecode("a+b", { plusAsSpace: true })).toEqual({ ok: true, value: "a b" });
    expect(percentDecode("a%2Bb", { plusAsSpace: true })).toEqual({ ok: true, value: "a+b" });
    expect(percentDecode("%4")).toEqual({ ok: false, error: { kind: "invalidPercentEncoding", index: 0 } });
    expect(percentDecode("%ff")).toEqual({ ok: false, error: { kind: "invalidUtf8" } });
  });
});

describe("lenientPercentDecode", () => {
  it("never throws and agrees with strict decoding whenever that succeeds", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 16 }), (input) => {
        const lenient = lenientPercentDecode(input);
        const strict = percentDecode(input);
        if (strict.ok) expect(lenient).toBe(strict.value);
      }),
      { numRuns: 1000 },
    );
    expect(lenientPercentDecode("%zz%41")).toBe("%zzA");
  });
});

describe("parseQuery", () => {
  it("recovers every key and value, in order, from a form-encoded query", () => {
    const pairs = fc.array(fc.tuple(wellFormed.filter((k) => k !== ""), wellFormed), { maxLength: 6 });
    fc.assert(
      fc.property(pairs, fc.boolean(), (entries, plus) => {
        const raw = entries.map(([k, v]) => `${formEncode(k, plus)}=${formEncode(v, plus)}`).join("&");
        const parsed = parseQuery(raw);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const expected = new Map<string, string[]>();
        for (const [k, v] of entries) expected.set(k, [...(expected.get(k) ?? []), v]);
        expect(parsed.value).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps repeated keys, skips empty pieces, accepts keys without '=' and a leading '?'", () => {
    const parsed = parseQuery("?a=1&&a=2&flag&b=x+y%21&=v");
    expect(parsed).toEqual({
      ok: true,
      value: new Map([
        ["a", ["1", "2"]],
        ["flag", [""]],
        ["b", ["x y!"]],
        ["", ["v"]],
      ]),
    });
  });

  it("refuses the whole query on a bad escape", () => {
    expect(parseQuery("resource=%E0%A4%A").ok).toBe(false);
    expect(parseQuery("client_id=%zz&resource=r")).toEqual({
      ok: false,
      error: { kind: "malformedQuery", piece: "client_id=%zz", cause: { kind: "invalidPercentEncoding", index: 0 } },
    });
  });

  it("stores __proto__ and friends as ordinary keys", () => {
    const parsed = parseQuery("__proto__=x&constructor=y");
    expect(parsed.ok && parsed.value.get("__proto__")).toEqual(["x"]);
    expect(parsed.ok && parsed.value.get("constructor")).toEqual(["y"]);
  });
});
