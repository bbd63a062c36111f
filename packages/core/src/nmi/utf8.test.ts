import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

// ignoreBOM keeps a leading U+FEFF as text, as decodeUtf8 does (the default decoder would strip it).
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** What the platform's strict decoder says, `undefined` when it refuses. */
function reference(bytes: Uint8Array): string | undefined {
  try {
    return fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

describe("decodeUtf8", () => {
  it("agrees with a fatal TextDecoder on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        expect(decodeUtf8(bytes)).toBe(reference(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees with a fatal TextDecoder on near-UTF-8 bytes (valid text with one byte changed)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 8 }), fc.nat(), fc.nat(255), (text, at, byte) => {
        const bytes = new TextEncoder().encode(text);
        if (bytes.length > 0) bytes[at % bytes.length] = byte;
        expect(decodeUtf8(bytes)).toBe(reference(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses overlong forms, surrogates and truncation", () => {
    expect(decodeUtf8(Uint8Array.from([0xc0, 0xaf]))).toBeUndefined();
    expect(decodeUtf8(Uint8Array.from([0xe0, 0x80, 0xaf]))).toBeUndefined();
    expect(decodeUtf8(Uint8Array.from([0xed, 0xa0, 0x80]))).toBeUndefined();
    expect(decodeUtf8(Uint8Array.from([0xe2, 0x82]))).toBeUndefined();
    expect(decodeUtf8(Uint8Array.from([0xf4, 0x90, 0x80, 0x80]))).toBeUndefined();
  });
});

describe("encodeUtf8", () => {
  it("agrees with TextEncoder and round-trips through decodeUtf8", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 16 }), (text) => {
        const bytes = encodeUtf8(text);
        expect([...bytes]).toEqual([...new TextEncoder().encode(text)]);
        expect(decodeUtf8(bytes)).toBe(fatal.decode(bytes));
      }),
      { numRuns: 400 },
    );
  });
});
