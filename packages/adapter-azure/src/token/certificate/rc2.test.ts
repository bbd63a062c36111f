import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rc2CbcDecrypt, rc2DecryptBlock, rc2ExpandKey } from "./rc2.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("RC2 (RFC 2268)", () => {
  // Section 5 of RFC 2268: key, effective bits, plaintext, ciphertext.
  it.each([
    ["0000000000000000", 63, "0000000000000000", "ebb773f993278eff"],
    ["ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"],
    ["3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"],
    ["88", 64, "0000000000000000", "61a8a244adacccf0"],
    ["88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"],
    ["88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"],
    ["88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"],
    ["88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e", 129, "0000000000000000", "5b78d3a43dfff1f1"],
  ])("decrypts the RFC test vector with key %s / %i bits", (key, bits, plain, cipher) => {
    const out = new Uint8Array(8);
    rc2DecryptBlock(rc2ExpandKey(hex(key), bits), hex(cipher), out);
    expect(toHex(out)).toBe(plain);
  });

  it("refuses bad padding (what a wrong password produces) and bad lengths", () => {
    expect(() => rc2CbcDecrypt(hex("0102030405"), 40, new Uint8Array(8), new Uint8Array(16))).toThrow(/padding/);
    expect(() => rc2CbcDecrypt(hex("0102030405"), 40, new Uint8Array(8), new Uint8Array(12))).toThrow(/multiple of 8/);
  });

  // Node's OpenSSL lacks RC2 (legacy provider); the openssl CLI loads it, so it serves as the reference.
  it("inverts the openssl CLI's RC2-40-CBC encryption", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 5 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), (key, iv, plain) => {
        const cipher = execFileSync(
          "openssl",
          ["enc", "-rc2-40-cbc", "-K", toHex(key), "-iv", toHex(iv), "-provider", "legacy", "-provider", "default"],
          { input: plain },
        );
        expect(toHex(rc2CbcDecrypt(key, 40, iv, cipher))).toBe(toHex(plain));
      }),
      { numRuns: 12 },
    );
  });
});
