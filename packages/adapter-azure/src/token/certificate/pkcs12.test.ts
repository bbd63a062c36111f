import { execFileSync } from "node:child_process";
import { createHmac, createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PFX } from "@peculiar/asn1-pfx";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import * as asn1js from "asn1js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPkcs12 } from "./pkcs12.js";
import { bmpPassword, pkcs12Kdf } from "./pkcs12-kdf.js";

/**
 * PKCS#12 files written by the openssl CLI (an independent producer) in every layout podid must read:
 * OpenSSL 3's default (PBES2/AES-256 + SHA-256 MAC), the legacy layout the original's Go reader expected
 * (RC2-40 certificates + 3DES key + SHA-1 MAC), empty passwords, a chain with a non-ASCII password.
 */
const dir = mkdtempSync(join(tmpdir(), "podid-p12-"));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });

beforeAll(() => {
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("k.pem"), "-out", file("c.pem"), "-days", "1", "-subj", "/CN=podid-leaf");
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("ca-k.pem"), "-out", file("ca.pem"), "-days", "1", "-subj", "/CN=podid-other");
  const base = ["pkcs12", "-export", "-in", file("c.pem"), "-inkey", file("k.pem")];
  openssl(...base, "-out", file("modern.p12"), "-passout", "pass:s3cret");
  openssl(...base, "-legacy", "-out", file("legacy.p12"), "-passout", "pass:s3cret");
  openssl(...base, "-out", file("modern-empty.p12"), "-passout", "pass:");
  openssl(...base, "-legacy", "-out", file("legacy-empty.p12"), "-passout", "pass:");
  openssl(...base, "-certfile", file("ca.pem"), "-keypbe", "AES-128-CBC", "-certpbe", "AES-128-CBC", "-macalg", "sha512", "-out", file("chain.p12"), "-passout", "pass:pässwörd");
  openssl(...base, "-keypbe", "DES-EDE3-CBC", "-certpbe", "DES-EDE3-CBC", "-out", file("pbes2-3des.p12"), "-passout", "pass:s3cret");
  openssl("pkcs12", "-export", "-nokeys", "-in", file("c.pem"), "-out", file("nokey.p12"), "-passout", "pass:s3cret");
  openssl(...base, "-nomac", "-out", file("nomac.p12"), "-passout", "pass:s3cret");
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The octets of a DER PFX's auth safe: what its MAC covers. */
function authSafeOctets(der: Uint8Array): Uint8Array {
  return new Uint8Array(AsnConvert.parse(AsnConvert.parse(der, PFX).authSafe.content, OctetString).buffer);
}

/** Re-encodes PFX → ContentInfo → [0] with indefinite lengths and the auth-safe OCTET STRING in 1000-byte segments. */
function toOuterBer(der: Uint8Array): Uint8Array {
  const indefinite = (tag: number, ...parts: Uint8Array[]) => Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.from([0, 0])]);
  const definite = (tag: number, body: Uint8Array) => {
    const len = body.length;
    const header = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
    return Buffer.concat([Buffer.from(header), body]);
  };
  const body = authSafeOctets(der);
  const segments: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += 1000) segments.push(definite(0x04, body.subarray(i, i + 1000)));
  const version = definite(0x02, Uint8Array.of(3));
  const dataType = definite(0x06, Buffer.from("2a864886f70d010701", "hex")); // 1.2.840.113549.1.7.1, id-data
  const mac = new Uint8Array(AsnConvert.serialize(AsnConvert.parse(der, PFX).macData));
  return new Uint8Array(indefinite(0x30, version, indefinite(0x30, dataType, indefinite(0xa0, indefinite(0x24, ...segments))), mac));
}

/**
 * Re-encodes a DER PFX in BER throughout, inside the auth safe too: every constructed element of
 * indefinite length, OCTET STRINGs and `[0] IMPLICIT` encrypted contents in 64-byte segments; the
 * MAC recomputed over the new auth safe.
 */
function toBerThroughout(der: Uint8Array, password: string): Uint8Array {
  const segmented = (block: asn1js.BaseBlock, tag: { tagClass: number; tagNumber: number }) => {
    const bytes = block.valueBeforeDecodeView.subarray(block.idBlock.blockLength + block.lenBlock.blockLength);
    const value = [];
    for (let i = 0; i < bytes.length; i += 64) value.push(new asn1js.OctetString({ valueHex: bytes.slice(i, i + 64) }));
    return new asn1js.Constructed({ idBlock: tag, lenBlock: { isIndefiniteForm: true }, value });
  };
  const ber = (block: asn1js.BaseBlock): asn1js.BaseBlock => {
    const { tagClass, tagNumber, isConstructed } = block.idBlock;
    if (!isConstructed && ((tagClass === 1 && tagNumber === 4) || (tagClass === 3 && tagNumber === 0)) && block.lenBlock.length > 64) {
      return segmented(block, { tagClass, tagNumber });
    }
    if (block instanceof asn1js.Constructed) {
      block.lenBlock.isIndefiniteForm = true;
      block.valueBlock.value = block.valueBlock.value.map(ber);
    }
    return block;
  };
  const reencode = (bytes: Uint8Array) => new Uint8Array(ber(asn1js.fromBER(bytes, { parseEmbedded: false }).result).toBER());
  const pfx = AsnConvert.parse(der, PFX);
  const authSafe = reencode(authSafeOctets(der));
  const hashes: Record<string, "sha1" | "sha256" | "sha512"> = { "1.3.14.3.2.26": "sha1", "2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.3": "sha512" };
  const hash = hashes[pfx.macData.mac.digestAlgorithm.algorithm] ?? "sha1";
  const key = pkcs12Kdf(hash, bmpPassword(password), new Uint8Array(pfx.macData.macSalt.buffer), 3, pfx.macData.iterations, pfx.macData.mac.digest.byteLength);
  pfx.macData.mac.digest = new OctetString(createHmac(hash, key).update(authSafe).digest());
  pfx.authSafe.content = AsnConvert.serialize(new OctetString(authSafe));
  return reencode(new Uint8Array(AsnConvert.serialize(pfx)));
}

const leafPublicKey = () => createPublicKey(readFileSync(file("k.pem"))).export({ type: "spki", format: "der" }).toString("hex");

describe("readPkcs12", () => {
  it.each([
    ["modern.p12", "s3cret"],
    ["legacy.p12", "s3cret"],
    ["modern-empty.p12", ""],
    ["legacy-empty.p12", ""],
    ["pbes2-3des.p12", "s3cret"],
  ])("reads %s and returns the key with its certificate", (name, password) => {
    const result = readPkcs12(readFileSync(file(name)), password);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.certificates[0]?.subject).toBe("CN=podid-leaf");
    expect(createPublicKey(result.value.privateKey).export({ type: "spki", format: "der" }).toString("hex")).toBe(leafPublicKey());
  });

  it("puts the certificate matching the key first in a chain, whatever the file order", () => {
    const result = readPkcs12(readFileSync(file("chain.p12")), "pässwörd");
    expect(result.ok && result.value.certificates.map((c) => c.subject)).toEqual(["CN=podid-leaf", "CN=podid-other"]);
  });

  it.each(["modern.p12", "legacy.p12", "chain.p12"])("reports a wrong password for %s", (name) => {
    const result = readPkcs12(readFileSync(file(name)), "not-the-password");
    expect(result).toMatchObject({ ok: false, error: { kind: "invalidPkcs12", reason: "wrongPassword" } });
  });

  it("reads a file whose outer layers use BER indefinite lengths and a segmented octet string (NSS, older Java)", () => {
    const result = readPkcs12(toOuterBer(readFileSync(file("modern.p12"))), "s3cret");
    expect(result.ok && result.value.certificates[0]?.subject).toBe("CN=podid-leaf");
  });

  it("reads a file in BER throughout: indefinite lengths and segmented octet strings inside the auth safe too", () => {
    for (const [name, password] of [["modern.p12", "s3cret"], ["legacy.p12", "s3cret"], ["chain.p12", "pässwörd"]] as const) {
      const ber = toBerThroughout(readFileSync(file(name)), password);
      // Indefinite outer SEQUENCE; segmented `[0] IMPLICIT` encrypted contents and OCTET STRINGs further in.
      const has = (hex: string) => Buffer.from(ber).includes(Buffer.from(hex, "hex"));
      expect([ber[0] === 0x30 && ber[1] === 0x80, has("a0800440"), has("24800440")]).toEqual([true, true, true]);
      const result = readPkcs12(ber, password);
      expect(result.ok && result.value.certificates[0]?.subject).toBe("CN=podid-leaf");
    }
  });

  it("reads a file without an integrity MAC (openssl -nomac)", () => {
    const result = readPkcs12(readFileSync(file("nomac.p12")), "s3cret");
    expect(result.ok && result.value.certificates[0]?.subject).toBe("CN=podid-leaf");
  });

  it("reports a file without a private key", () => {
    expect(readPkcs12(readFileSync(file("nokey.p12")), "s3cret")).toMatchObject({ ok: false, error: { reason: "noPrivateKey" } });
  });

  it("refuses MAC data with anything but NULL hash parameters (the MAC does not cover them)", () => {
    const good = readFileSync(file("legacy.p12"));
    // The SHA-1 AlgorithmIdentifier at the end of the MAC data: OID 1.3.14.3.2.26, then NULL (05 00).
    const sha1 = Buffer.from([0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00]);
    const at = good.lastIndexOf(sha1);
    expect(at).toBeGreaterThan(0);
    for (const tag of [0x04, 0x00, 0x02]) {
      const copy = new Uint8Array(good);
      copy[at + 7] = tag;
      expect(readPkcs12(copy, "s3cret")).toMatchObject({ ok: false, error: { reason: "malformed" } });
    }
  });

  it.each(["legacy.p12", "modern.p12"])("refuses %s with any byte changed outside what its MAC covers", (name) => {
    const good = readFileSync(file(name));
    // The MAC covers the auth safe's octets; the envelope around them and the MAC data are not covered, so
    // the reader itself must notice every change there (a length widened to swallow the MAC data, a
    // NULL turned into an empty string, an octet string retagged …).
    const authSafe = authSafeOctets(good);
    const start = good.indexOf(authSafe);
    const uncovered = [...Array(good.length).keys()].filter((at) => at < start || at >= start + authSafe.length);
    const accepted: string[] = [];
    for (const at of uncovered) {
      for (const xor of [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x84, 0x0f, 0xf0, 0xff]) {
        const copy = new Uint8Array(good);
        copy[at] = (copy[at] ?? 0) ^ xor;
        if (readPkcs12(copy, "s3cret").ok) accepted.push(`byte ${at} ^ 0x${xor.toString(16)}`);
      }
    }
    expect(uncovered.length).toBeGreaterThan(40);
    expect(accepted).toEqual([]);
  }, 60_000);

  it("never throws on arbitrary bytes or corrupted files", () => {
    const good = readFileSync(file("legacy.p12"));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
            const copy = new Uint8Array(good);
            copy[at] = (copy[at] ?? 0) ^ xor;
            return copy;
          }),
        ),
        (bytes) => {
          const result = readPkcs12(bytes, "s3cret");
          // A flipped byte must never yield a key silently: the MAC or the structure catches it.
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });
});
