/**
 * RC2 decryption (RFC 2268) in CBC mode. Legacy PKCS#12 files — what `openssl pkcs12 -export` wrote
 * before OpenSSL 3, Windows' exports, and what the original (Go `x/crypto/pkcs12`) read — encrypt their
 * certificates with 40-bit RC2, which OpenSSL 3 (and therefore Node) only offers through its legacy
 * provider: Node 22's `crypto.getCiphers()` lists no RC2 and `createDecipheriv("rc2-40-cbc", …)` fails
 * as unsupported, and a library cannot load that provider (it takes a process-wide flag or OpenSSL
 * configuration). The ASN.1 libraries podid uses parse but do not decrypt. Decrypting a certificate needs
 * no secrecy guarantees from the cipher, so this small implementation lets podid read those files.
 * @packageDocumentation
 */

const PITABLE = Uint8Array.from(
  (
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2179a59f587b34f1361456d8d09817d32" +
    "bd8f40eb86b77b0bf09521225c6b4e8254d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626" +
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed708e8eade8052eef784aa72ac354d6a2a" +
    "961ad2715a1549744b9fd05e0418a4ecc2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731" +
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a90d38341bab33ffb0bb480c5fb9b1cd2e" +
    "c5f3db47e5a59c770aa62068fe7fc1ad"
  )
    .match(/../g)
    ?.map((h) => parseInt(h, 16)) ?? [],
);

/** Expands `key` into RC2's 64 sub-keys for `effectiveBits` of effective key length. */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  if (key.length < 1 || key.length > 128) throw new RangeError("RC2 key must be 1 to 128 bytes");
  if (effectiveBits < 1 || effectiveBits > 1024) throw new RangeError("RC2 effective key bits must be 1 to 1024");
  const l = new Uint8Array(128);
  l.set(key);
  const t = key.length;
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  for (let i = t; i < 128; i += 1) l[i] = PITABLE[((l[i - 1] ?? 0) + (l[i - t] ?? 0)) & 0xff] ?? 0;
  l[128 - t8] = PITABLE[(l[128 - t8] ?? 0) & tm] ?? 0;
  for (let i = 127 - t8; i >= 0; i -= 1) l[i] = PITABLE[(l[i + 1] ?? 0) ^ (l[i + t8] ?? 0)] ?? 0;
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i += 1) k[i] = (l[2 * i] ?? 0) | ((l[2 * i + 1] ?? 0) << 8);
  return k;
}

/** Decrypts one 8-byte block in place (`out` may be `block`). */
export function rc2DecryptBlock(k: Uint16Array, block: Uint8Array, out: Uint8Array): void {
  const r = [0, 0, 0, 0];
  for (let i = 0; i < 4; i += 1) r[i] = (block[2 * i] ?? 0) | ((block[2 * i + 1] ?? 0) << 8);
  const word = (i: number) => r[i & 3] ?? 0;
  const shifts = [1, 2, 3, 5];
  let j = 63;
  const mixRound = () => {
    for (let i = 3; i >= 0; i -= 1) {
      const s = shifts[i] ?? 0;
      const x = word(i);
      const rotated = ((x >>> s) | (x << (16 - s))) & 0xffff;
      r[i] = (rotated - (k[j] ?? 0) - (word(i - 1) & word(i - 2)) - (~word(i - 1) & word(i - 3))) & 0xffff;
      j -= 1;
    }
  };
  const mashRound = () => {
    for (let i = 3; i >= 0; i -= 1) r[i] = (word(i) - (k[word(i - 1) & 63] ?? 0)) & 0xffff;
  };
  for (let n = 0; n < 5; n += 1) mixRound();
  mashRound();
  for (let n = 0; n < 6; n += 1) mixRound();
  mashRound();
  for (let n = 0; n < 5; n += 1) mixRound();
  for (let i = 0; i < 4; i += 1) {
    out[2 * i] = word(i) & 0xff;
    out[2 * i + 1] = word(i) >> 8;
  }
}

/** Why RC2-CBC decryption failed (bad length or padding: usually a wrong password). */
export class Rc2Error extends Error {
  override readonly name = "Rc2Error";
}

/** RC2-CBC decryption with PKCS#7 padding removal. */
export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (iv.length !== 8) throw new Rc2Error("RC2 IV must be 8 bytes");
  if (ciphertext.length === 0 || ciphertext.length % 8 !== 0) throw new Rc2Error("RC2 ciphertext length is not a multiple of 8");
  const k = rc2ExpandKey(key, effectiveBits);
  const plain = new Uint8Array(ciphertext.length);
  let previous = iv;
  const block = new Uint8Array(8);
  for (let offset = 0; offset < ciphertext.length; offset += 8) {
    const current = ciphertext.subarray(offset, offset + 8);
    rc2DecryptBlock(k, current, block);
    for (let i = 0; i < 8; i += 1) plain[offset + i] = (block[i] ?? 0) ^ (previous[i] ?? 0);
    previous = current;
  }
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > 8 || plain.subarray(plain.length - pad).some((b) => b !== pad)) throw new Rc2Error("bad RC2 padding (wrong password?)");
  return plain.subarray(0, plain.length - pad);
}
