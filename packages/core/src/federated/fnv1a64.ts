const OFFSET_BASIS = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;

/** The UTF-8 bytes of `text` (core has no TextEncoder: it runs without DOM or Node.js libraries). */
function utf8Bytes(text: string): number[] {
  const bytes: number[] = [];
  for (const char of text) {
    let cp = char.codePointAt(0) ?? 0;
    // A lone surrogate cannot be encoded; encoders write U+FFFD for it, and so does this.
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return bytes;
}

/** The 64-bit FNV-1a hash of `text`'s UTF-8 bytes as 16 lower-case hex digits (zero-padded). */
export function fnv1a64Hex(text: string): string {
  let hash = OFFSET_BASIS;
  for (const byte of utf8Bytes(text)) {
    hash ^= BigInt(byte);
    hash = BigInt.asUintN(64, hash * PRIME);
  }
  return hash.toString(16).padStart(16, "0");
}
