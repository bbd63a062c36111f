import { createDecipheriv, createHmac, createPrivateKey, pbkdf2Sync, timingSafeEqual, X509Certificate, type KeyObject } from "node:crypto";
import { ContentInfo, EncryptedContentInfo, id_data, id_encryptedData } from "@peculiar/asn1-cms";
import {
  AuthenticatedSafe, CertBag, MacData, PKCS8ShroudedKeyBag, SafeContents,
  id_certBag, id_keyBag, id_pkcs8ShroudedKeyBag, id_SafeContents, id_x509Certificate,
  id_pbeWithSHAAnd128BitRC2_CBC, id_pbeWithSHAAnd2_KeyTripleDES_CBC, id_pbeWithSHAAnd3_KeyTripleDES_CBC, id_pbewithSHAAnd40BitRC2_CBC,
} from "@peculiar/asn1-pfx";
import { AsnConvert, AsnProp, AsnPropTypes, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { err, ok, type Result } from "@podid/core";
import * as asn1js from "asn1js";
import { bmpPassword, pkcs12Kdf, type Pkcs12Hash } from "./pkcs12-kdf.js";
import { rc2CbcDecrypt } from "./rc2.js";

/**
 * Reading PKCS#12 (`.pfx` / `.p12`) files: Node can use a PFX for TLS but offers no way to take the key
 * and certificates out of one, which `@azure/identity` needs (it reads PEM). `asn1js` and the
 * `@peculiar/asn1-*` schemas over it parse the structures; `node:crypto` does the cryptography. Only what
 * neither offers is hand-written: the PKCS#12 key derivation ({@link pkcs12Kdf}), RC2
 * ({@link rc2CbcDecrypt}), the schemas of a few parameter structures, and the strictness checks below.
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

/*
 * Structures no `@peculiar/asn1-*` package declares as needed here. The decorator functions are called
 * directly: the build uses neither legacy nor standard decorators.
 */

/**
 * `PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo, macData MacData OPTIONAL }` (RFC 7292).
 * `@peculiar/asn1-pfx` declares it too, but its class fills an absent `macData` with an empty one, which
 * would make a file without MAC indistinguishable (and re-encode with a MAC it does not have).
 */
class Pfx {
  version: number | string = 0;
  authSafe = new ContentInfo();
  macData?: MacData;
}
AsnProp({ type: AsnPropTypes.Integer })(Pfx.prototype, "version");
AsnProp({ type: ContentInfo })(Pfx.prototype, "authSafe");
AsnProp({ type: MacData, optional: true })(Pfx.prototype, "macData");

/** `pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }` (RFC 7292 appendix C). */
class Pkcs12PbeParams {
  salt = new OctetString();
  iterations: number | string = 0;
}
AsnProp({ type: OctetString })(Pkcs12PbeParams.prototype, "salt");
AsnProp({ type: AsnPropTypes.Integer })(Pkcs12PbeParams.prototype, "iterations");

/** `PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }` (RFC 8018). */
class Pbes2Params {
  keyDerivationFunc = new AlgorithmIdentifier();
  encryptionScheme = new AlgorithmIdentifier();
}
AsnProp({ type: AlgorithmIdentifier })(Pbes2Params.prototype, "keyDerivationFunc");
AsnProp({ type: AlgorithmIdentifier })(Pbes2Params.prototype, "encryptionScheme");

/**
 * `PBKDF2-params` (RFC 8018), with the salt's `specified OCTET STRING` alternative only (the other is
 * reserved). `keyLength` is not used (the cipher fixes the key length), but declared: the schema matches
 * fields in order, and an undeclared one would hide the `prf` after it.
 */
class Pbkdf2Params {
  salt = new OctetString();
  iterationCount: number | string = 0;
  keyLength?: number | string;
  prf?: AlgorithmIdentifier;
}
AsnProp({ type: OctetString })(Pbkdf2Params.prototype, "salt");
AsnProp({ type: AsnPropTypes.Integer })(Pbkdf2Params.prototype, "iterationCount");
AsnProp({ type: AsnPropTypes.Integer, optional: true })(Pbkdf2Params.prototype, "keyLength");
AsnProp({ type: AlgorithmIdentifier, optional: true })(Pbkdf2Params.prototype, "prf");

/** CMS `EncryptedData ::= SEQUENCE { version, encryptedContentInfo, … }`: `@peculiar/asn1-cms` declares only the inner part. */
class EncryptedData {
  version: number | string = 0;
  encryptedContentInfo = new EncryptedContentInfo();
}
AsnProp({ type: AsnPropTypes.Integer })(EncryptedData.prototype, "version");
AsnProp({ type: EncryptedContentInfo })(EncryptedData.prototype, "encryptedContentInfo");

/** `id-PBES2` and `id-PBKDF2` (RFC 8018), and the hashes and ciphers PKCS#12 files use: no `@peculiar/asn1-*` package exports these. */
const PBES2 = "1.2.840.113549.1.5.13";
const PBKDF2 = "1.2.840.113549.1.5.12";

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

/** The legacy PKCS#12 PBE schemes (RFC 7292 appendix C): cipher and key length in bytes. */
const PKCS12_PBE: Readonly<Record<string, { readonly cipher: "des-ede3-cbc" | "des-ede-cbc" | "rc2"; readonly keyLength: number }>> = {
  [id_pbeWithSHAAnd3_KeyTripleDES_CBC]: { cipher: "des-ede3-cbc", keyLength: 24 },
  [id_pbeWithSHAAnd2_KeyTripleDES_CBC]: { cipher: "des-ede-cbc", keyLength: 16 },
  [id_pbeWithSHAAnd128BitRC2_CBC]: { cipher: "rc2", keyLength: 16 },
  [id_pbewithSHAAnd40BitRC2_CBC]: { cipher: "rc2", keyLength: 5 },
};

const PBES2_CIPHERS: Readonly<Record<string, { readonly cipher: string; readonly keyLength: number }>> = {
  "2.16.840.1.101.3.4.1.2": { cipher: "aes-128-cbc", keyLength: 16 },
  "2.16.840.1.101.3.4.1.22": { cipher: "aes-192-cbc", keyLength: 24 },
  "2.16.840.1.101.3.4.1.42": { cipher: "aes-256-cbc", keyLength: 32 },
  "1.2.840.113549.3.7": { cipher: "des-ede3-cbc", keyLength: 24 },
};

/**
 * Rewrites a BER element in DER: definite minimal lengths, and the segments of a constructed OCTET STRING
 * joined. Some writers (NSS, older Java) use those BER forms on a file's layers; asn1js reads them, but
 * `@peculiar/asn1-schema` takes only primitive OCTET STRINGs, and the strictness check of
 * {@link readPkcs12} compares DER bytes.
 */
function derForm(block: asn1js.BaseBlock): asn1js.BaseBlock {
  const segmented = block instanceof asn1js.OctetString && block.idBlock.isConstructed;
  if (segmented || block instanceof asn1js.Constructed) checkFilled(block, block.valueBlock.value);
  block.lenBlock.isIndefiniteForm = false;
  block.lenBlock.longFormUsed = false;
  if (segmented) {
    // asn1js has checked that the segments are OCTET STRINGs; derForm makes nested segmented ones primitive.
    const parts = block.valueBlock.value.map((part) => new Uint8Array((derForm(part) as asn1js.OctetString).getValue()));
    return new asn1js.OctetString({ valueHex: Buffer.concat(parts) });
  }
  if (block instanceof asn1js.Constructed) block.valueBlock.value = block.valueBlock.value.map(derForm);
  return block;
}

/**
 * Checks that the `elements` of constructed `block` fill it exactly. asn1js lets them run past a stated
 * length (up to the end of the input), and takes any `[UNIVERSAL 0]` element as the end-of-contents of
 * an indefinite length: a changed length or end-of-contents byte would go unnoticed.
 */
function checkFilled(block: asn1js.BaseBlock, elements: readonly asn1js.BaseBlock[]): void {
  const filled = elements.reduce((n, element) => n + element.blockLength, 0);
  const [end1, end2] = block.valueBeforeDecodeView.subarray(-2);
  const exact = block.lenBlock.isIndefiniteForm
    ? block.valueBlock.blockLength === filled + 2 && end1 === 0 && end2 === 0
    : block.valueBlock.blockLength === filled && filled === block.lenBlock.length;
  if (!exact) throw new Error("an element's contents do not fill its length");
}

/**
 * asn1js by default also tries to parse the contents of every OCTET STRING, which spends its budget of
 * nodes per parse (10 000) on the certificates: a file with a few hundred would be refused.
 */
const BER_OPTIONS = { parseEmbedded: false } as const;

/** Parses `bytes`, which must hold exactly one BER element, and returns its DER form. */
function toDer(bytes: Uint8Array): Uint8Array {
  const parsed = asn1js.fromBER(bytes, BER_OPTIONS);
  if (parsed.offset !== bytes.byteLength) {
    throw new Error(parsed.offset === -1 ? parsed.result.error : "trailing bytes after the outer element");
  }
  return new Uint8Array(derForm(parsed.result).toBER());
}

/** Decodes DER `bytes` as `type`. */
function decode<T>(bytes: ArrayBuffer | Uint8Array, type: new () => T): T {
  return AsnConvert.parse(bytes, type, { berOptions: BER_OPTIONS });
}

function bytesOf(octets: OctetString): Uint8Array {
  return new Uint8Array(octets.buffer);
}

/** An iteration count: the INTEGER converter gives a string from four bytes on. */
function count(value: number | string, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${what}: not a positive integer`);
  return n;
}

/** The parameters of an algorithm that must have some. */
function parametersOf(algorithm: AlgorithmIdentifier): ArrayBuffer {
  if (algorithm.parameters === undefined || algorithm.parameters === null) throw new Error(`algorithm ${algorithm.algorithm} without parameters`);
  return algorithm.parameters;
}

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

/** Decrypts `data` with the password-based scheme `algorithm` names. */
function decrypt(algorithm: AlgorithmIdentifier, data: Uint8Array, password: string, bmp: Uint8Array): Uint8Array {
  const legacy = PKCS12_PBE[algorithm.algorithm];
  if (legacy !== undefined) {
    const params = decode(parametersOf(algorithm), Pkcs12PbeParams);
    const salt = bytesOf(params.salt);
    const iterations = count(params.iterations, "PBE iterations");
    const key = pkcs12Kdf("sha1", bmp, salt, 1, iterations, legacy.keyLength);
    const iv = pkcs12Kdf("sha1", bmp, salt, 2, iterations, 8);
    if (legacy.cipher !== "rc2") return decipher(legacy.cipher, key, iv, data);
    try {
      return rc2CbcDecrypt(key, legacy.keyLength * 8, iv, data);
    } catch (e) {
      throw new Pkcs12Failure("wrongPassword", `RC2 decryption failed (wrong password?): ${(e as Error).message}`);
    }
  }
  if (algorithm.algorithm === PBES2) {
    const { keyDerivationFunc, encryptionScheme } = decode(parametersOf(algorithm), Pbes2Params);
    if (keyDerivationFunc.algorithm !== PBKDF2) throw new Pkcs12Failure("unsupportedAlgorithm", "PBES2 key derivation other than PBKDF2");
    const kdf = decode(parametersOf(keyDerivationFunc), Pbkdf2Params);
    const prf = kdf.prf === undefined ? "sha1" : HMAC_BY_OID[kdf.prf.algorithm];
    if (prf === undefined) throw new Pkcs12Failure("unsupportedAlgorithm", `PBKDF2 PRF ${kdf.prf?.algorithm ?? ""}`);
    const cipher = PBES2_CIPHERS[encryptionScheme.algorithm];
    if (cipher === undefined) throw new Pkcs12Failure("unsupportedAlgorithm", `PBES2 cipher ${encryptionScheme.algorithm}`);
    const iv = bytesOf(decode(parametersOf(encryptionScheme), OctetString));
    // PBES2 inside PKCS#12 takes the password as UTF-8 (RFC 8018), not the BMP form of the legacy schemes.
    const key = pbkdf2Sync(Buffer.from(password, "utf8"), bytesOf(kdf.salt), count(kdf.iterationCount, "PBKDF2 iterations"), cipher.keyLength, prf);
    return decipher(cipher.cipher, key, iv, data);
  }
  throw new Pkcs12Failure("unsupportedAlgorithm", `encryption algorithm ${algorithm.algorithm}`);
}

/** Verifies the file's integrity MAC; `false` means a wrong password (or a corrupted file). */
function macMatches(macData: MacData, authSafe: Uint8Array, bmp: Uint8Array): boolean {
  const { digestAlgorithm, digest } = macData.mac;
  // The MAC data lies outside what the MAC protects, so whatever is tolerated here is tampering that goes
  // unnoticed: a hash's parameters are NULL or absent (RFC 5754), and the converter reads NULL as `null`.
  if (digestAlgorithm.parameters !== undefined && digestAlgorithm.parameters !== null) throw new Error("MAC algorithm: parameters must be NULL or absent");
  const hash = HASH_BY_OID[digestAlgorithm.algorithm];
  if (hash === undefined) throw new Pkcs12Failure("unsupportedAlgorithm", `MAC hash ${digestAlgorithm.algorithm} (PBMAC1 and others are not supported)`);
  const expected = bytesOf(digest);
  const key = pkcs12Kdf(hash, bmp, bytesOf(macData.macSalt), 3, count(macData.iterations, "MAC iterations"), expected.length);
  const actual = createHmac(hash, key).update(authSafe).digest();
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

interface Bags {
  readonly keys: Uint8Array[];
  readonly certificates: Uint8Array[];
}

/** Collects the keys and X.509 certificates of `safeContents` (DER), decrypting shrouded keys. */
function readSafeContents(safeContents: Uint8Array, password: string, bmp: Uint8Array, bags: Bags): void {
  for (const bag of decode(safeContents, SafeContents)) {
    if (bag.bagId === id_keyBag) {
      bags.keys.push(new Uint8Array(bag.bagValue));
    } else if (bag.bagId === id_pkcs8ShroudedKeyBag) {
      const shrouded = decode(bag.bagValue, PKCS8ShroudedKeyBag);
      bags.keys.push(decrypt(shrouded.encryptionAlgorithm, bytesOf(shrouded.encryptedData), password, bmp));
    } else if (bag.bagId === id_certBag) {
      const cert = decode(bag.bagValue, CertBag);
      if (cert.certId !== id_x509Certificate) continue; // SDSI certificates: not used by AAD
      bags.certificates.push(bytesOf(decode(cert.certValue, OctetString)));
    } else if (bag.bagId === id_SafeContents) {
      readSafeContents(new Uint8Array(bag.bagValue), password, bmp, bags);
    }
    // CRL and secret bags carry nothing a client assertion needs.
  }
}

function readAuthenticatedSafe(authSafe: Uint8Array, password: string, bmp: Uint8Array): Bags {
  const bags: Bags = { keys: [], certificates: [] };
  for (const { contentType, content } of decode(toDer(authSafe), AuthenticatedSafe)) {
    if (contentType === id_data) {
      readSafeContents(toDer(bytesOf(decode(content, OctetString))), password, bmp, bags);
    } else if (contentType === id_encryptedData) {
      const { contentEncryptionAlgorithm, encryptedContent } = decode(content, EncryptedData).encryptedContentInfo;
      // `[0] IMPLICIT OCTET STRING`, primitive or (BER) in segments.
      const segments = encryptedContent?.value !== undefined ? [encryptedContent.value] : (encryptedContent?.constructedValue ?? []);
      if (segments.length === 0) throw new Error("encrypted data without content");
      const encrypted = Buffer.concat(segments.map(bytesOf));
      readSafeContents(toDer(decrypt(contentEncryptionAlgorithm, encrypted, password, bmp)), password, bmp, bags);
    } else {
      throw new Pkcs12Failure("unsupportedAlgorithm", `content type ${contentType} (public-key privacy mode is not supported)`);
    }
  }
  return bags;
}

/**
 * Reads the private key and certificates of a PKCS#12 file protected by `password` (`""` for none).
 * Supports what real files use: PBES2 (PBKDF2 with HMAC-SHA1/256/384/512, AES-CBC or 3DES — OpenSSL 3's
 * default), and the legacy PKCS#12 schemes (3DES, 2-key 3DES, 40- and 128-bit RC2 — OpenSSL 1.x, Windows,
 * Go's x/crypto/pkcs12 that the original used), with SHA-1/SHA-2 integrity MACs, which are verified (a
 * mismatch is reported as `wrongPassword`). DER and BER (indefinite lengths, segmented octet strings)
 * encodings are read. The certificate whose public key matches the private key comes first; a file
 * without a matching certificate is refused.
 */
export function readPkcs12(pfx: Uint8Array, password: string): Result<Pkcs12Contents, Pkcs12Error> {
  try {
    // The MAC covers only the auth safe's octets: the envelope around them and the MAC data must be read
    // strictly, or a changed byte there (a length widened to swallow the MAC data, an extra element the
    // schema skips, a non-minimal integer …) would go unnoticed. DER is canonical, so the check is that
    // the file's DER form is exactly what re-encoding the parsed PFX gives.
    const der = toDer(pfx);
    const parsed = decode(der, Pfx);
    if (Buffer.compare(new Uint8Array(AsnConvert.serialize(parsed)), der) !== 0) throw new Error("the PFX holds elements or encodings its schema does not");
    if (Number(parsed.version) !== 3) throw new Error("PFX version is not 3");
    if (parsed.authSafe.contentType !== id_data) throw new Pkcs12Failure("unsupportedAlgorithm", "public-key integrity mode is not supported");
    const authSafe = bytesOf(decode(parsed.authSafe.content, OctetString));
    const candidates = passwordCandidates(password);
    let bmp = candidates[0] ?? bmpPassword(password);
    const macData = parsed.macData;
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
    const certificates = bags.certificates.map((certificate) => new X509Certificate(Buffer.from(certificate)));
    if (certificates.length === 0) throw new Pkcs12Failure("noCertificate", "the file holds no certificate");
    const leaf = certificates.find((certificate) => certificate.checkPrivateKey(privateKey));
    if (leaf === undefined) throw new Pkcs12Failure("keyMismatch", "no certificate matches the private key");
    return ok({ privateKey, certificates: [leaf, ...certificates.filter((c) => c !== leaf)] });
  } catch (e) {
    if (e instanceof Pkcs12Failure) return err({ kind: "invalidPkcs12", reason: e.reason, message: e.message });
    return err({ kind: "invalidPkcs12", reason: "malformed", message: `not a readable PKCS#12 file: ${(e as Error).message}` });
  }
}
