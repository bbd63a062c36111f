/**
 * A minimal PKCS#12 (RFC 7292) writer for the fake vault's certificate secrets: Key Vault hands out a
 * certificate's private part as base64 PFX with an empty password. Node can read PFX (`tls`'s `pfx`
 * option) but not write it, and the only other writer in the tree is a transitive dependency, so the few
 * DER structures are written here, in the widely read shape Windows and Key Vault exports use: one
 * unencrypted SafeContents with the certificate bag, one with the private key as a `pkcs8ShroudedKeyBag`
 * (PBE with SHA-1 and 3-key triple DES), both carrying a `localKeyId` pairing them, and an HMAC-SHA1 integrity
 * MAC — every key derived with the PKCS#12 KDF from the empty password (BMPString: two zero bytes).
 * @packageDocumentation
 */
import { createCipheriv, createHash, createHmac, randomBytes } from "node:crypto";

const OID = {
  data: "1.2.840.113549.1.7.1",
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  localKeyId: "1.2.840.113549.1.9.21",
  sha1: "1.3.14.3.2.26",
  pbeWithSHAAnd3KeyTripleDesCbc: "1.2.840.113549.1.12.1.3",
} as const;

/** The iteration count of the key derivations (OpenSSL's default). */
const ITERATIONS = 2048;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octets = (bytes: Buffer): Buffer => tlv(0x04, bytes);
const explicit0 = (inner: Buffer): Buffer => tlv(0xa0, inner);
const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);

function integer(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const part of parts.slice(2)) {
    const group: number[] = [part & 0x7f];
    for (let v = Math.floor(part / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v & 0x7f));
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

/** ContentInfo of type `data` wrapping `content`. */
const dataContentInfo = (content: Buffer): Buffer => sequence(oid(OID.data), explicit0(octets(content)));

function safeBag(bagId: string, value: Buffer, keyId: Buffer): Buffer {
  return sequence(oid(bagId), explicit0(value), set(sequence(oid(OID.localKeyId), set(octets(keyId)))));
}

/** RFC 7292 appendix B.2 key derivation with SHA-1 (u = 20, v = 64); `id` 1 = cipher key, 2 = IV, 3 = MAC key. */
function pkcs12Kdf(password: Buffer, salt: Buffer, id: number, iterations: number, size: number): Buffer {
  const u = 20;
  const v = 64;
  const fill = (bytes: Buffer): Buffer => {
    if (bytes.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(bytes.length / v));
    for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length] ?? 0;
    return out;
  };
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([fill(salt), fill(password)]);
  const blocks: Buffer[] = [];
  for (let c = 0; c < Math.ceil(size / u); c++) {
    let a = createHash("sha1").update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) a = createHash("sha1").update(a).digest();
    blocks.push(a);
    const b = fill(a);
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block of I.
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (i[j + k] ?? 0) + (b[k] ?? 0) + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, size);
}

/** What goes into the PFX. */
export interface Pkcs12Input {
  readonly certificateDer: Buffer;
  /** The private key as PKCS#8 DER. */
  readonly privateKeyDer: Buffer;
}

/** The empty password as PKCS#12 feeds it to the KDF: BMPString of "" with its terminating zero. */
const EMPTY_PASSWORD = Buffer.alloc(2);

/** EncryptedPrivateKeyInfo: the PKCS#8 key encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC. */
function shroudKey(privateKeyDer: Buffer): Buffer {
  const salt = randomBytes(8);
  const key = pkcs12Kdf(EMPTY_PASSWORD, salt, 1, ITERATIONS, 24);
  const iv = pkcs12Kdf(EMPTY_PASSWORD, salt, 2, ITERATIONS, 8);
  const cipher = createCipheriv("des-ede3-cbc", key, iv);
  const encrypted = Buffer.concat([cipher.update(privateKeyDer), cipher.final()]);
  return sequence(sequence(oid(OID.pbeWithSHAAnd3KeyTripleDesCbc), sequence(octets(salt), integer(ITERATIONS))), octets(encrypted));
}

/** A PFX (DER) holding the certificate and its key, readable with an empty password. */
export function buildPkcs12(input: Pkcs12Input): Buffer {
  const keyId = createHash("sha1").update(input.certificateDer).digest();
  const certBag = sequence(oid(OID.x509Certificate), explicit0(octets(input.certificateDer)));
  const certContents = sequence(safeBag(OID.certBag, certBag, keyId));
  const keyContents = sequence(safeBag(OID.pkcs8ShroudedKeyBag, shroudKey(input.privateKeyDer), keyId));
  const authenticatedSafe = sequence(dataContentInfo(certContents), dataContentInfo(keyContents));
  const salt = randomBytes(8);
  const macKey = pkcs12Kdf(EMPTY_PASSWORD, salt, 3, ITERATIONS, 20);
  const mac = createHmac("sha1", macKey).update(authenticatedSafe).digest();
  const macData = sequence(sequence(sequence(oid(OID.sha1), nullValue()), octets(mac)), octets(salt), integer(ITERATIONS));
  return sequence(integer(3), dataContentInfo(authenticatedSafe), macData);
}
