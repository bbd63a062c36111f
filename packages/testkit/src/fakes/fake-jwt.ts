/**
 * JWT-shaped strings for fake tokens: `base64url(header).base64url(payload).base64url(signature)`.
 * Nothing is signed; the point is that tests can decode a token and prove which identity, audience and
 * lifetime it carries, exactly where real code would find them.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Claims the fake token sources put into tokens (numbers are Unix seconds). */
export interface FakeTokenClaims {
  readonly aud: string;
  readonly iss: string;
  readonly appid: string;
  readonly oid: string;
  readonly sub: string;
  readonly tid: string;
  /** ARM id of the managed identity (or the VM for the system-assigned one); absent for service principals. */
  readonly xms_mirid?: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  /** Unique per issued token, so two tokens for the same identity differ. */
  readonly uti: string;
  readonly ver: "1.0";
}

/** Encodes bytes as unpadded base64url. */
export function base64UrlEncode(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63) + ALPHABET.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] ?? 0) << 16;
    out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63);
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63);
  }
  return out;
}

/** Decodes unpadded (or padded) base64url; throws on characters outside the alphabet. */
export function base64UrlDecode(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of clean) {
    const value = ALPHABET.indexOf(ch);
    if (value < 0) throw new Error(`base64UrlDecode: invalid character ${JSON.stringify(ch)}`);
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/** Builds an unsigned, JWT-shaped token carrying `claims`. */
export function encodeFakeJwt(claims: FakeTokenClaims): string {
  const encoder = new TextEncoder();
  const header = base64UrlEncode(encoder.encode(JSON.stringify({ typ: "JWT", alg: "RS256", kid: "podid-testkit-fake" })));
  const payload = base64UrlEncode(encoder.encode(JSON.stringify(claims)));
  const signature = base64UrlEncode(encoder.encode(`fake-signature:${claims.uti}`));
  return `${header}.${payload}.${signature}`;
}

/** Reads the claims back out of a token made by {@link encodeFakeJwt}; throws when it is not JWT-shaped. */
export function decodeFakeJwt(token: string): FakeTokenClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("decodeFakeJwt: not a three-part JWT");
  const payload = new TextDecoder().decode(base64UrlDecode(parts[1] ?? ""));
  return JSON.parse(payload) as FakeTokenClaims;
}
