import { execFileSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { children, parseDer } from "./der.js";
import { readPkcs12 } from "./pkcs12.js";

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
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Re-encodes PFX → ContentInfo → [0] with indefinite lengths and the auth-safe OCTET STRING in 1000-byte segments. */
function toOuterBer(der: Uint8Array): Uint8Array {
  const indefinite = (tag: number, ...parts: Uint8Array[]) => Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.from([0, 0])]);
  const definite = (tag: number, body: Uint8Array) => {
    const len = body.length;
    const header = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
    return Buffer.concat([Buffer.from(header), body]);
  };
  const pfx = parseDer(der);
  const [version, authSafe, mac] = children(pfx);
  const [type, wrapper] = children(authSafe!);
  const octetsNode = children(wrapper!)[0]!;
  const body = octetsNode.bytes.subarray(octetsNode.start, octetsNode.contentEnd);
  const segments: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += 1000) segments.push(definite(0x04, body.subarray(i, i + 1000)));
  const slice = (n: { offset: number; end: number; bytes: Uint8Array }) => n.bytes.subarray(n.offset, n.end);
  return new Uint8Array(
    indefinite(0x30, slice(version!), indefinite(0x30, slice(type!), indefinite(0xa0, indefinite(0x24, ...segments))), slice(mac!)),
  );
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
    const [, authSafeInfo] = children(parseDer(good));
    const authSafe = children(children(authSafeInfo!)[1]!)[0]!;
    const uncovered = [...Array(good.length).keys()].filter((at) => at < authSafe.start || at >= authSafe.contentEnd);
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
