import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCertificatePem } from "./client-certificate.js";

const dir = mkdtempSync(join(tmpdir(), "podid-cert-"));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
const read = (name: string) => new Uint8Array(readFileSync(file(name)));

beforeAll(() => {
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("k.pem"), "-out", file("c.pem"), "-days", "1", "-subj", "/CN=sp");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("other-k.pem"), "-out", file("other.pem"), "-days", "1", "-subj", "/CN=other");
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("ec-k.pem"), "-out", file("ec.pem"), "-days", "1", "-subj", "/CN=ec");
  openssl("pkcs12", "-export", "-legacy", "-in", file("c.pem"), "-inkey", file("k.pem"), "-out", file("sp.p12"), "-passout", "pass:pw");
  openssl("pkcs8", "-topk8", "-in", file("k.pem"), "-out", file("k-enc.pem"), "-passout", "pass:pw");
  openssl("pkcs12", "-export", "-in", file("ec.pem"), "-inkey", file("ec-k.pem"), "-out", file("ec.p12"), "-passout", "pass:pw");
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The PEM must be usable as the SDK uses it: first certificate = the key's, key readable without a password. */
function expectUsable(pem: string) {
  const cert = new X509Certificate(pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 25));
  expect(cert.subject).toBe("CN=sp");
  expect(cert.checkPrivateKey(createPrivateKey(pem.slice(pem.indexOf("-----BEGIN PRIVATE KEY-----"))))).toBe(true);
}

describe("clientCertificatePem", () => {
  it("converts a (legacy) PKCS#12 file, binary or base64 text", () => {
    const binary = clientCertificatePem(read("sp.p12"), "pw");
    const base64 = clientCertificatePem(new Uint8Array(Buffer.from(Buffer.from(read("sp.p12")).toString("base64"))), "pw");
    expect(binary.ok && base64.ok).toBe(true);
    if (binary.ok) expectUsable(binary.value.pem);
    if (binary.ok && base64.ok) expect(base64.value.pem).toBe(binary.value.pem);
  });

  it("accepts PEM with the key after or before a chain, encrypted or not", () => {
    const key = readFileSync(file("k.pem"), "utf8");
    const cert = readFileSync(file("c.pem"), "utf8");
    const other = readFileSync(file("other.pem"), "utf8");
    for (const [text, password] of [
      [`${other}${cert}${key}`, ""],
      [`${key}${cert}`, ""],
      [`${cert}${readFileSync(file("k-enc.pem"), "utf8")}`, "pw"],
    ] as const) {
      const result = clientCertificatePem(new Uint8Array(Buffer.from(text)), password);
      expect(result.ok).toBe(true);
      if (result.ok) expectUsable(result.value.pem);
    }
  });

  it("names the problem: wrong password, mismatched key, missing parts, non-RSA keys, garbage", () => {
    const cert = readFileSync(file("c.pem"), "utf8");
    expect(clientCertificatePem(read("sp.p12"), "nope")).toMatchObject({ ok: false, error: { reason: "wrongPassword" } });
    expect(clientCertificatePem(new Uint8Array(Buffer.from(`${cert}${readFileSync(file("k-enc.pem"), "utf8")}`)), "nope")).toMatchObject({
      ok: false,
      error: { kind: "invalidPem", reason: "wrongPassword" },
    });
    expect(clientCertificatePem(new Uint8Array(Buffer.from(`${readFileSync(file("other.pem"), "utf8")}${readFileSync(file("k.pem"), "utf8")}`)), "")).toMatchObject({
      ok: false,
      error: { reason: "keyMismatch" },
    });
    expect(clientCertificatePem(new Uint8Array(Buffer.from(cert)), "")).toMatchObject({ ok: false, error: { reason: "noPrivateKey" } });
    expect(clientCertificatePem(read("ec.p12"), "pw")).toMatchObject({ ok: false, error: { kind: "unsupportedKey" } });
    expect(clientCertificatePem(new Uint8Array(Buffer.from("hello")), "")).toMatchObject({ ok: false, error: { reason: "malformed" } });
  });
});
