import { createHash } from "node:crypto";

/** Hash functions PKCS#12 key derivation and MACs use, with their output and block sizes in bytes. */
export const PKCS12_HASHES = {
  sha1: { u: 20, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
} as const;

/** A hash PKCS#12 files use. */
export type Pkcs12Hash = keyof typeof PKCS12_HASHES;

/** What the derived bytes are for (RFC 7292 B.3): 1 key, 2 IV, 3 MAC key. */
export type Pkcs12KeyPurpose = 1 | 2 | 3;

/** A password as PKCS#12 PBE and MACs take it: UTF-16BE with a two-byte zero terminator (RFC 7292 B.1). */
export function bmpPassword(password: string): Uint8Array {
  const out = new Uint8Array((password.length + 1) * 2);
  for (let i = 0; i < password.length; i += 1) {
    const unit = password.charCodeAt(i);
    out[2 * i] = unit >> 8;
    out[2 * i + 1] = unit & 0xff;
  }
  return out;
}

function repeatToMultiple(input: Uint8Array, v: number): Uint8Array {
  if (input.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(v * Math.ceil(input.length / v));
  for (let i = 0; i < out.length; i += 1) out[i] = input[i % input.length] ?? 0;
  return out;
}

/**
 * The PKCS#12 key-derivation function (RFC 7292 appendix B.2), used by the legacy `pbeWithSHAAnd…`
 * encryption algorithms and by the file's integrity MAC. `password` is already in its BMP form
 * ({@link bmpPassword}), or empty for "no password". Hand-written because `node:crypto` has only PBKDF2
 * and the ASN.1 libraries parse without deriving keys (`pkijs` has a private, asynchronous WebCrypto
 * version; `readPkcs12` is synchronous).
 */
export function pkcs12Kdf(
  hash: Pkcs12Hash,
  password: Uint8Array,
  salt: Uint8Array,
  purpose: Pkcs12KeyPurpose,
  iterations: number,
  length: number,
): Uint8Array {
  const { u, v } = PKCS12_HASHES[hash];
  const diversifier = new Uint8Array(v).fill(purpose);
  const input = new Uint8Array([...repeatToMultiple(salt, v), ...repeatToMultiple(password, v)]);
  const out = new Uint8Array(Math.ceil(length / u) * u);
  for (let block = 0; block * u < length; block += 1) {
    let a: Uint8Array = createHash(hash).update(diversifier).update(input).digest();
    for (let r = 1; r < iterations; r += 1) a = createHash(hash).update(a).digest();
    out.set(a, block * u);
    // I_j = (I_j + B + 1) mod 2^(8v), with B = A repeated to v bytes.
    const b = repeatToMultiple(a, v).subarray(0, v);
    for (let j = 0; j < input.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k -= 1) {
        const sum = (input[j + k] ?? 0) + (b[k] ?? 0) + carry;
        input[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return out.subarray(0, length);
}
