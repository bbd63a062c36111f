import { err, ok, type Result } from "../result.js";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

/**
 * Percent-decoding (RFC 3986 §2.1) for request paths and `application/x-www-form-urlencoded`
 * queries, written here because core may not use `decodeURIComponent`'s exceptions or `URL`.
 * @packageDocumentation
 */

/** Why a string could not be percent-decoded. */
export type PercentDecodeError =
  /** A `%` not followed by two hex digits, at `index` in the input. */
  | { readonly kind: "invalidPercentEncoding"; readonly index: number }
  /** The decoded bytes are not well-formed UTF-8. */
  | { readonly kind: "invalidUtf8" };

/** Options of {@link percentDecode}. */
export interface PercentDecodeOptions {
  /** Form encoding: `+` stands for a space (true for query strings, false for paths). */
  readonly plusAsSpace?: boolean;
}

/** The value of one hex digit, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/** The byte encoded by `%XY` starting at `index` in `input`, or -1 when it is not a valid escape. */
export function percentEscapeAt(input: string, index: number): number {
  if (input.charCodeAt(index) !== 0x25 || index + 2 >= input.length) return -1;
  const hi = hexValue(input.charCodeAt(index + 1));
  const lo = hexValue(input.charCodeAt(index + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/**
 * Strictly decodes `input`: every `%` must start a valid escape and the resulting bytes must be
 * UTF-8. Characters that are not escapes are kept (non-ASCII ones are taken as their UTF-8 bytes).
 */
export function percentDecode(input: string, options: PercentDecodeOptions = {}): Result<string, PercentDecodeError> {
  if (!input.includes("%") && !(options.plusAsSpace === true && input.includes("+"))) return ok(input);
  const bytes: number[] = [];
  let i = 0;
  while (i < input.length) {
    const code = input.charCodeAt(i);
    if (code === 0x25) {
      const byte = percentEscapeAt(input, i);
      if (byte < 0) return err({ kind: "invalidPercentEncoding", index: i });
      bytes.push(byte);
      i += 3;
    } else if (code === 0x2b && options.plusAsSpace === true) {
      bytes.push(0x20);
      i += 1;
    } else {
      const cp = input.codePointAt(i) ?? code;
      const width = cp > 0xffff ? 2 : 1;
      bytes.push(...encodeUtf8(input.slice(i, i + width)));
      i += width;
    }
  }
  const text = decodeUtf8(Uint8Array.from(bytes));
  return text === undefined ? err({ kind: "invalidUtf8" }) : ok(text);
}

/**
 * Decodes every valid escape and keeps everything else literally; bytes that are not UTF-8 become
 * one character each. Never fails. Used only to judge whether a request *looks like* a token path,
 * so it must err on the side of decoding more, never less.
 */
export function lenientPercentDecode(input: string): string {
  if (!input.includes("%")) return input;
  const bytes: number[] = [];
  let i = 0;
  while (i < input.length) {
    const byte = percentEscapeAt(input, i);
    if (byte >= 0) {
      bytes.push(byte);
      i += 3;
      continue;
    }
    const cp = input.codePointAt(i) ?? 0;
    const width = cp > 0xffff ? 2 : 1;
    bytes.push(...encodeUtf8(input.slice(i, i + width)));
    i += width;
  }
  const decoded = decodeUtf8(Uint8Array.from(bytes));
  if (decoded !== undefined) return decoded;
  let latin1 = "";
  for (const byte of bytes) latin1 += String.fromCharCode(byte);
  return latin1;
}
