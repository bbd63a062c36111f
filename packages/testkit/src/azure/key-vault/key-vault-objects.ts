/**
 * Key material for the fake vault: RSA-2048 keys (as Key Vault creates by default) and self-signed
 * certificates with the private part in the two forms Key Vault stores in a certificate's secret.
 * @packageDocumentation
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from "node:crypto";
import { generate } from "selfsigned";
import type { CertificateContentType } from "./key-vault-model.js";
import { buildPkcs12 } from "./pkcs12.js";

/** Public RSA parameters as a JWK carries them (base64url). */
export interface RsaPublicJwk {
  readonly n: string;
  readonly e: string;
}

/** An RSA-2048 key pair and its public JWK parts. */
export function newRsaKey(): { privateKey: KeyObject; jwk: RsaPublicJwk } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, jwk: rsaJwk(privateKey) };
}

/** `n` and `e` of an RSA key. */
export function rsaJwk(key: KeyObject): RsaPublicJwk {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  if (typeof jwk.n !== "string" || typeof jwk.e !== "string") throw new Error("not an RSA key");
  return { n: jwk.n, e: jwk.e };
}

/** A self-signed certificate with everything the vault stores for it. */
export interface GeneratedCertificate {
  readonly der: Buffer;
  readonly privateKey: KeyObject;
  readonly subject: string;
  readonly notBeforeSec: number;
  readonly expiresSec: number;
  /** The backing secret's value: base64 PKCS#12 (empty password) or PEM (PKCS#8 key, then the certificate). */
  readonly secretValue: string;
}

/** Generates a self-signed RSA-2048 certificate valid for a year, like Key Vault's `Self` issuer default policy. */
export async function newSelfSignedCertificate(commonName: string, contentType: CertificateContentType, nowMs: number): Promise<GeneratedCertificate> {
  const generated = await generate([{ name: "commonName", value: commonName }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(nowMs - 60_000),
    notAfterDate: new Date(nowMs + 365 * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    ],
  });
  const x509 = new X509Certificate(generated.cert);
  const privateKey = createPrivateKey(generated.private);
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const secretValue =
    contentType === "application/x-pem-file"
      ? `${keyPem.trim()}\n${generated.cert.trim()}\n`
      : buildPkcs12({ certificateDer: x509.raw, privateKeyDer: privateKey.export({ type: "pkcs8", format: "der" }) }).toString("base64");
  return {
    der: x509.raw,
    privateKey,
    subject: `CN=${commonName}`,
    notBeforeSec: Math.floor(Date.parse(x509.validFrom) / 1000),
    expiresSec: Math.floor(Date.parse(x509.validTo) / 1000),
    secretValue,
  };
}
