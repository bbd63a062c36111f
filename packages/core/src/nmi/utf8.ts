/**
 * Strict UTF-8 decoding without `TextDecoder` (core compiles against es2023 only, no DOM or Node
 * typings). Used for percent-decoded request parts and for Secret values.
 * @packageDocumentation
 */

/**
 * Decodes `bytes` as UTF-8, or returns `undefined` when they are not well-formed UTF-8 (overlong
 * forms, surrogate code points, truncated or stray continuation bytes, values above U+10FFFF).
 * Rejecting rather than substituting U+FFFD matters for request paths: two different byte strings
 * must never decode to the same text, or a check on the decoded form could be sidestepped.
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i += 1;
      continue;
    }
    let needed: number;
    let codePoint: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      needed = 1;
      codePoint = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      needed = 2;
      codePoint = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      needed = 3;
      codePoint = b0 & 0x07;
      min = 0x10000;
    } else {
      return undefined;
    }
    for (let k = 1; k <= needed; k += 1) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return undefined;
      codePoint = (codePoint << 6) | (b & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return undefined;
    out += String.fromCodePoint(codePoint);
    i += needed + 1;
  }
  return out;
}

/** Encodes `text` as UTF-8 bytes (lone surrogates become U+FFFD, as `TextEncoder` does). */
export function encodeUtf8(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    let cp = ch.codePointAt(0) ?? 0xfffd;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(bytes);
}
