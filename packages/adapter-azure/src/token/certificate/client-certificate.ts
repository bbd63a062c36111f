import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { err, ok, type Result } from "@podid/core";
import { readPkcs12, type Pkcs12Error } from "./pkcs12.js";

/** A service principal's certificate in the form `ClientCertificateCredential` takes. */
export interface ClientCertificatePem {
  /** The certificates (the one matching the key first) followed by the unencrypted PKCS#8 private key. */
  readonly pem: string;
  /** SHA-1 thumbprint of the leaf certificate in upper-case hex (what AAD shows; safe to log). */
  readonly thumbprint: string;
}

/** Why certificate bytes could not be used for a client assertion. */
export type ClientCertificateError =
  | Pkcs12Error
  | {
      readonly kind: "invalidPem";
      readonly reason: "malformed" | "wrongPassword" | "noPrivateKey" | "noCertificate" | "keyMismatch";
      readonly message: string;
    }
  /** AAD client assertions are RSA-signed; the original refused other keys too. */
  | { readonly kind: "unsupportedKey"; readonly message: string };

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function assemble(privateKey: KeyObject, certificates: readonly X509Certificate[]): Result<ClientCertificatePem, ClientCertificateError> {
  if (privateKey.asymmetricKeyType !== "rsa" && privateKey.asymmetricKeyType !== "rsa-pss") {
    return err({ kind: "unsupportedKey", message: `the private key is ${privateKey.asymmetricKeyType ?? "unknown"}; AAD client assertions need an RSA key` });
  }
  const leaf = certificates[0];
  if (leaf === undefined) return err({ kind: "invalidPem", reason: "noCertificate", message: "no certificate" });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const certPems = certificates.map((c) => c.toString().trim());
  return ok({
    pem: `${[...certPems, keyPem.trim()].join("\n")}\n`,
    thumbprint: createHash("sha1").update(leaf.raw).digest("hex").toUpperCase(),
  });
}

function fromPem(text: string, password: string): Result<ClientCertificatePem, ClientCertificateError> {
  const blocks = [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] ?? "", pem: m[0] }));
  const keyBlock = blocks.find((b) => b.label.endsWith("PRIVATE KEY"));
  if (keyBlock === undefined) return err({ kind: "invalidPem", reason: "noPrivateKey", message: "the PEM holds no private key" });
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: keyBlock.pem, format: "pem", ...(password !== "" ? { passphrase: password } : {}) });
  } catch (e) {
    const encrypted = keyBlock.label.startsWith("ENCRYPTED") || keyBlock.pem.includes("ENCRYPTED");
    return err({
      kind: "invalidPem",
      reason: encrypted ? "wrongPassword" : "malformed",
      message: `cannot read the private key${encrypted ? " (wrong password?)" : ""}: ${(e as Error).message}`,
    });
  }
  let certificates: X509Certificate[];
  try {
    certificates = blocks.filter((b) => b.label === "CERTIFICATE").map((b) => new X509Certificate(b.pem));
  } catch (e) {
    return err({ kind: "invalidPem", reason: "malformed", message: `cannot read a certificate: ${(e as Error).message}` });
  }
  if (certificates.length === 0) return err({ kind: "invalidPem", reason: "noCertificate", message: "the PEM holds no certificate" });
  const leaf = certificates.find((c) => c.checkPrivateKey(privateKey));
  if (leaf === undefined) return err({ kind: "invalidPem", reason: "keyMismatch", message: "no certificate matches the private key" });
  return assemble(privateKey, [leaf, ...certificates.filter((c) => c !== leaf)]);
}

/** The PKCS#12 bytes `text` encodes in base64, if it is nothing but base64 of a DER SEQUENCE. */
function base64Der(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const bytes = Buffer.from(compact, "base64");
  return bytes[0] === 0x30 ? new Uint8Array(bytes) : undefined;
}

/**
 * Turns the certificate bytes of a type 2 AzureIdentity's Secret into the PEM `ClientCertificateCredential`
 * reads. Accepted: a PKCS#12 file (key `certificate`, as the original required; binary, or base64 text
 * when someone stored it encoded twice) protected by `password`, or PEM text holding the certificate(s)
 * and the private key (optionally encrypted with `password`). The private key must be RSA and match a
 * certificate; that certificate comes first, since the credential takes the thumbprint from the first.
 */
export function clientCertificatePem(bytes: Uint8Array, password: string): Result<ClientCertificatePem, ClientCertificateError> {
  const text = Buffer.from(bytes).toString("utf8");
  if (text.includes("-----BEGIN ")) return fromPem(text, password);
  const der = bytes[0] === 0x30 ? bytes : base64Der(text);
  if (der === undefined) return err({ kind: "invalidPkcs12", reason: "malformed", message: "neither PEM nor a PKCS#12 file" });
  const pfx = readPkcs12(der, password);
  if (!pfx.ok) return pfx;
  return assemble(pfx.value.privateKey, pfx.value.certificates);
}

/** One sentence for logs; never includes key material. */
export function describeClientCertificateError(error: ClientCertificateError): string {
  return error.kind === "unsupportedKey" ? error.message : `${error.kind}/${error.reason}: ${error.message}`;
}
