import { createDecipheriv, createHmac, createPrivateKey, pbkdf2Sync, timingSafeEqual, X509Certificate, type KeyObject } from "node:crypto";
import { err, ok, type Result } from "@podid/core";
import { children, DerError, encoded, expect, integer, octets, oid, parseDer, TAG, type DerNode } from "./der.js";
import { bmpPassword, pkcs12Kdf, type Pkcs12Hash } from "./pkcs12-kdf.js";
import { rc2CbcDecrypt } from "./rc2.js";

/**
 * Reading PKCS#12 (`.pfx` / `.p12`) files with Node's crypto: Node can use a PFX for TLS but offers no
 * way to take the key and certificates out of one, which `@azure/identity` needs (it reads PEM).
 * @packageDocumentation
 */

/** What a PKCS#12 file yielded. */
export interface Pkcs12Contents {
  /** The private key. */
  readonly privateKey: KeyObject;
  /** Every certificate in the file, the one matching the private key first. */
  readonly certificates: readonly X509Certificate[];
}

/** Why a PKCS#12 file could not be read. */
export interface Pkcs12Error {
  readonly kind: "invalidPkcs12";
  readonly reason: "malformed" | "wrongPassword" | "unsupportedAlgorithm" | "noPrivateKey" | "noCertificate" | "keyMismatch";
  readonly message: string;
}

class Pkcs12Failure extends Error {
  readonly reason: Pkcs12Error["reason"];
  constructor(reason: Pkcs12Error["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  safeContentsBag: "1.2.840.113549.1.12.10.1.6",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
} as const;

const HASH_BY_OID: Readonly<Record<string, Pkcs12Hash>> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

const HMAC_BY_OID: Readonly<Record<string, Pkcs12Hash>> = {
  "1.2.840.113549.2.7": "sha1",
  "1.2.840.113549.2.9": "sha256",
  "1.2.840.113549.2.10": "sha384",
  "1.2.840.113549.2.11": "sha512",
};

/** The legacy PKCS#12 PBE schemes (RFC 7292 appendix C): cipher, key length and RC2 effective bits. */
const PKCS12_PBE: Readonly<Record<string, { readonly cipher: "des-ede3-cbc" | "des-ede-cbc" | "rc2"; readonly keyLength: number }>> = {
  "1.2.840.113549.1.12.1.3": { cipher: "des-ede3-cbc", keyLength: 24 },
  "1.2.840.113549.1.12.1.4": { cipher: "des-ede-cbc", keyLength: 16 },
  "1.2.840.113549.1.12.1.5": { cipher: "rc2", keyLength: 16 },
  "1.2.840.113549.1.12.1.6": { cipher: "rc2", keyLength: 5 },
};

const PBES2_CIPHERS: Readonly<Record<string, { readonly cipher: string; readonly keyLength: number }>> = {
  "2.16.840.1.101.3.4.1.2": { cipher: "aes-128-cbc", keyLength: 16 },
  "2.16.840.1.101.3.4.1.22": { cipher: "aes-192-cbc", keyLength: 24 },
  "2.16.840.1.101.3.4.1.42": { cipher: "aes-256-cbc", keyLength: 32 },
  "1.2.840.113549.3.7": { cipher: "des-ede3-cbc", keyLength: 24 },
};

/** The two encodings an empty password may have had when the file was written (BMP `00 00`, or no bytes). */
function passwordCandidates(password: string): Uint8Array[] {
  return password === "" ? [bmpPassword(""), new Uint8Array(0)] : [bmpPassword(password)];
}

function decipher(cipher: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  try {
    const d = createDecipheriv(cipher, key, iv);
    return new Uint8Array(Buffer.concat([d.update(data), d.final()]));
  } catch (e) {
    throw new Pkcs12Failure("wrongPassword", `decryption failed (wrong password?): ${(e as Error).message}`);
  }
}

/** Decrypts `data` with the algorithm `algorithm` (an AlgorithmIdentifier) names. */
function decrypt(algorithm: DerNode, data: Uint8Array, password: string, bmp: Uint8Array): Uint8Array {
  const [algOid, params] = children(expect(algorithm, TAG.sequence, "encryption algorithm"));
  const name = oid(expect(algOid, TAG.oid, "encryption algorithm id"));
  const legacy = PKCS12_PBE[name];
  if (legacy !== undefined) {
    const [salt, iterations] = children(expect(params, TAG.sequence, "PBE parameters"));
    const saltBytes = octets(expect(salt, TAG.octetString, "PBE salt"));
    const count = integer(expect(iterations, TAG.integer, "PBE iterations"));
    const key = pkcs12Kdf("sha1", bmp, saltBytes, 1, count, legacy.keyLength);
    const iv = pkcs12Kdf("sha1", bmp, saltBytes, 2, count, 8);
    if (legacy.cipher !== "rc2") return decipher(legacy.cipher, key, iv, data);
    try {
      return rc2CbcDecrypt(key, legacy.keyLength * 8, iv, data);
    } catch (e) {
      throw new Pkcs12Failure("wrongPassword", `RC2 decryption failed (wrong password?): ${(e as Error).message}`);
    }
  }
  if (name === OID.pbes2) {
    const [kdf, scheme] = children(expect(params, TAG.sequence, "PBES2 parameters"));
    const [kdfOid, kdfParams] = children(expect(kdf, TAG.sequence, "PBES2 key derivation"));
    if (oid(expect(kdfOid, TAG.oid, "key derivation id")) !== OID.pbkdf2) {
      throw new Pkcs12Failure("unsupportedAlgorithm", "PBES2 key derivation other than PBKDF2");
    }
    const kdfFields = children(expect(kdfParams, TAG.sequence, "PBKDF2 parameters"));
    const salt = octets(expect(kdfFields[0], TAG.octetString, "PBKDF2 salt"));
    const count = integer(expect(kdfFields[1], TAG.integer, "PBKDF2 iterations"));
    let prf: Pkcs12Hash = "sha1";
    for (const field of kdfFields.slice(2)) {
      if (field.tag !== TAG.sequence) continue; // keyLength INTEGER: the cipher fixes it anyway
      const prfOid = oid(expect(children(field)[0], TAG.oid, "PBKDF2 PRF"));
      const hash = HMAC_BY_OID[prfOid];
      if (hash === undefined) throw new Pkcs12Failure("unsupportedAlgorithm", `PBKDF2 PRF ${prfOid}`);
      prf = hash;
    }
    const [cipherOid, ivNode] = children(expect(scheme, TAG.sequence, "PBES2 encryption scheme"));
    const cipherName = oid(expect(cipherOid, TAG.oid, "PBES2 cipher"));
    const cipher = PBES2_CIPHERS[cipherName];
    if (cipher === undefined) throw new Pkcs12Failure("unsupportedAlgorithm", `PBES2 cipher ${cipherName}`);
    const iv = octets(expect(ivNode, TAG.octetString, "PBES2 IV"));
    // PBES2 inside PKCS#12 takes the password as UTF-8 (RFC 8018), not the BMP form of the legacy schemes.
    const key = pbkdf2Sync(Buffer.from(password, "utf8"), salt, count, cipher.keyLength, prf);
    return decipher(cipher.cipher, key, iv, data);
  }
  throw new Pkcs12Failure("unsupportedAlgorithm", `encryption algorithm ${name}`);
}

/** The elements of SEQUENCE `node`, of which there must be `min` to `max`. */
function fields(node: DerNode | undefined, min: number, max: number, what: string): DerNode[] {
  const elements = children(expect(node, TAG.sequence, what));
  if (elements.length < min || elements.length > max) {
    throw new DerError(`${what}: expected ${min === max ? String(min) : `${min} to ${max}`} elements, found ${elements.length}`);
  }
  return elements;
}

/** Verifies the file's integrity MAC; `false` means a wrong password (or a corrupted file). */
function macMatches(macData: DerNode, authSafe: Uint8Array, bmp: Uint8Array): boolean {
  // Read strictly: the MAC data is outside what the MAC protects, so anything tolerated here would be
  // tampering that goes unnoticed. A hash's parameters are NULL or absent (RFC 5754).
  const [digestInfo, saltNode, iterationsNode] = fields(macData, 2, 3, "MAC data");
  const [algorithm, digest] = fields(digestInfo, 2, 2, "MAC digest info");
  const [hashOidNode, hashParameters] = fields(algorithm, 1, 2, "MAC algorithm");
  if (hashParameters !== undefined && (hashParameters.tag !== TAG.null || hashParameters.contentEnd !== hashParameters.start)) {
    throw new DerError("MAC algorithm: parameters must be NULL or absent");
  }
  const hashOid = oid(expect(hashOidNode, TAG.oid, "MAC hash"));
  const hash = HASH_BY_OID[hashOid];
  if (hash === undefined) throw new Pkcs12Failure("unsupportedAlgorithm", `MAC hash ${hashOid} (PBMAC1 and others are not supported)`);
  const salt = octets(expect(saltNode, TAG.octetString, "MAC salt"));
  const iterations = iterationsNode === undefined ? 1 : integer(expect(iterationsNode, TAG.integer, "MAC iterations"));
  const expected = octets(expect(digest, TAG.octetString, "MAC digest"));
  const key = pkcs12Kdf(hash, bmp, salt, 3, iterations, expected.length);
  const actual = createHmac(hash, key).update(authSafe).digest();
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

interface Bags {
  readonly keys: Uint8Array[];
  readonly certificates: Uint8Array[];
}

function readSafeContents(der: Uint8Array, password: string, bmp: Uint8Array, bags: Bags): void {
  for (const bag of children(expect(parseDer(der), TAG.sequence, "safe contents"))) {
    const [bagIdNode, valueWrapper] = children(expect(bag, TAG.sequence, "safe bag"));
    const bagId = oid(expect(bagIdNode, TAG.oid, "bag id"));
    const value = children(expect(valueWrapper, TAG.context0, "bag value"))[0];
    if (value === undefined) throw new DerError("empty bag value");
    if (bagId === OID.keyBag) {
      bags.keys.push(encoded(value));
    } else if (bagId === OID.shroudedKeyBag) {
      const [algorithm, encrypted] = children(expect(value, TAG.sequence, "encrypted private key info"));
      bags.keys.push(decrypt(expect(algorithm, TAG.sequence, "key algorithm"), octets(expect(encrypted, TAG.octetString, "encrypted key")), password, bmp));
    } else if (bagId === OID.certBag) {
      const [certType, certValue] = children(expect(value, TAG.sequence, "certificate bag"));
      if (oid(expect(certType, TAG.oid, "certificate type")) !== OID.x509Certificate) continue; // SDSI certificates: not used by AAD
      bags.certificates.push(octets(expect(children(expect(certValue, TAG.context0, "certificate value"))[0], TAG.octetString, "certificate")));
    } else if (bagId === OID.safeContentsBag) {
      readSafeContents(encoded(value), password, bmp, bags);
    }
    // CRL and secret bags carry nothing a client assertion needs.
  }
}

function readAuthenticatedSafe(authSafe: Uint8Array, password: string, bmp: Uint8Array): Bags {
  const bags: Bags = { keys: [], certificates: [] };
  for (const contentInfo of children(expect(parseDer(authSafe), TAG.sequence, "authenticated safe"))) {
    const [typeNode, wrapper] = children(expect(contentInfo, TAG.sequence, "content info"));
    const type = oid(expect(typeNode, TAG.oid, "content type"));
    const inner = children(expect(wrapper, TAG.context0, "content"))[0];
    if (inner === undefined) throw new DerError("empty content");
    if (type === OID.data) {
      readSafeContents(octets(inner), password, bmp, bags);
    } else if (type === OID.encryptedData) {
      const [, encryptedContentInfo] = children(expect(inner, TAG.sequence, "encrypted data"));
      const [, algorithm, encrypted] = children(expect(encryptedContentInfo, TAG.sequence, "encrypted content info"));
      if (encrypted === undefined) throw new DerError("encrypted data without content");
      readSafeContents(decrypt(expect(algorithm, TAG.sequence, "content algorithm"), octets(encrypted, { implicitContext0: true }), password, bmp), password, bmp, bags);
    } else {
      throw new Pkcs12Failure("unsupportedAlgorithm", `content type ${type} (public-key privacy mode is not supported)`);
    }
  }
  return bags;
}

/**
 * Reads the private key and certificates of a PKCS#12 file protected by `password` (`""` for none).
 * Supports what real files use: PBES2 (PBKDF2 with HMAC-SHA1/256/384/512, AES-CBC or 3DES — OpenSSL 3's
 * default), and the legacy PKCS#12 schemes (3DES, 2-key 3DES, 40- and 128-bit RC2 — OpenSSL 1.x, Windows,
 * Go's x/crypto/pkcs12 that the original used), with SHA-1/SHA-2 integrity MACs, which are verified (a
 * mismatch is reported as `wrongPassword`). The certificate whose public key matches the private key
 * comes first; a file without a matching certificate is refused.
 */
export function readPkcs12(pfx: Uint8Array, password: string): Result<Pkcs12Contents, Pkcs12Error> {
  try {
    // The PFX envelope, like the MAC data, is outside what the MAC covers: its SEQUENCEs must hold exactly
    // their fields, or a length changed to swallow the MAC data would drop the integrity check unnoticed.
    const [version, authSafeInfo, macData] = fields(parseDer(pfx), 2, 3, "PFX");
    if (integer(expect(version, TAG.integer, "PFX version")) !== 3) throw new DerError("PFX version is not 3");
    const [typeNode, wrapper] = fields(authSafeInfo, 2, 2, "PFX auth safe");
    if (oid(expect(typeNode, TAG.oid, "auth safe type")) !== OID.data) {
      throw new Pkcs12Failure("unsupportedAlgorithm", "public-key integrity mode is not supported");
    }
    const wrapped = children(expect(wrapper, TAG.context0, "auth safe content"));
    const authSafeNode = wrapped[0];
    if (authSafeNode === undefined || wrapped.length !== 1) throw new DerError("auth safe content must hold one octet string");
    const authSafe = octets(authSafeNode);
    const candidates = passwordCandidates(password);
    let bmp = candidates[0] ?? bmpPassword(password);
    if (macData !== undefined) {
      const match = candidates.find((candidate) => macMatches(macData, authSafe, candidate));
      if (match === undefined) throw new Pkcs12Failure("wrongPassword", "integrity check failed: wrong password");
      bmp = match;
    }
    const bags = readAuthenticatedSafe(authSafe, password, bmp);
    const keyDer = bags.keys[0];
    if (keyDer === undefined) throw new Pkcs12Failure("noPrivateKey", "the file holds no private key");
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: Buffer.from(keyDer), format: "der", type: "pkcs8" });
    } catch (e) {
      throw new Pkcs12Failure("wrongPassword", `the decrypted private key is unreadable (wrong password?): ${(e as Error).message}`);
    }
    const certificates = bags.certificates.map((der) => new X509Certificate(Buffer.from(der)));
    if (certificates.length === 0) throw new Pkcs12Failure("noCertificate", "the file holds no certificate");
    const leaf = certificates.find((certificate) => certificate.checkPrivateKey(privateKey));
    if (leaf === undefined) throw new Pkcs12Failure("keyMismatch", "no certificate matches the private key");
    return ok({ privateKey, certificates: [leaf, ...certificates.filter((c) => c !== leaf)] });
  } catch (e) {
    if (e instanceof Pkcs12Failure) return err({ kind: "invalidPkcs12", reason: e.reason, message: e.message });
    return err({ kind: "invalidPkcs12", reason: "malformed", message: `not a readable PKCS#12 file: ${(e as Error).message}` });
  }
}
