import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeSecretData } from "./secret-data.js";

describe("decodeSecretData", () => {
  it("round-trips any bytes through base64 (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 64 })), (bytes) => {
        const wire = Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
        const decoded = decodeSecretData(wire);
        expect(Object.keys(decoded).sort()).toEqual(Object.keys(bytes).sort());
        for (const [k, v] of Object.entries(bytes)) expect([...(decoded[k] ?? [])]).toEqual([...v]);
      }),
    );
  });

  it("skips non-string values and accepts a missing map", () => {
    expect(decodeSecretData(undefined)).toEqual({});
    expect(Object.keys(decodeSecretData({ a: 1, b: "aGk=" }))).toEqual(["b"]);
  });
});
