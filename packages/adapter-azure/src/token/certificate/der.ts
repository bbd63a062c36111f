/**
 * A minimal reader of DER and BER encodings (including BER's indefinite lengths, which some PKCS#12
 * writers such as NSS and older Java use on the outer layers): enough ASN.1 to walk a PKCS#12 file.
 * @packageDocumentation
 */

/** One decoded ASN.1 element: its tag byte and where its contents lie in the buffer. */
export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  readonly tag: number;
  /** The whole input buffer. */
  readonly bytes: Uint8Array;
  /** Offset of the identifier octet (where the element's encoding begins). */
  readonly offset: number;
  /** Offset of the first content octet. */
  readonly start: number;
  /** Offset just past the last content octet. */
  readonly contentEnd: number;
  /** Offset just past the element (after the end-of-contents octets of an indefinite length). */
  readonly end: number;
}

/** Universal tags used by PKCS#12. */
export const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
  /** `[0]` constructed (EXPLICIT context tag 0). */
  context0: 0xa0,
  /** `[0]` primitive (IMPLICIT OCTET STRING in EncryptedContentInfo). */
  context0Primitive: 0x80,
  /** OCTET STRING in its constructed (BER) form. */
  octetStringConstructed: 0x24,
} as const;

/** An input that cannot be read (truncated, malformed lengths, unexpected tag). */
export class DerError extends Error {
  override readonly name = "DerError";
}

/** Reads the element starting at `offset`, which must end at or before `limit`. */
export function readNode(bytes: Uint8Array, offset: number, limit: number = bytes.length): DerNode {
  if (offset + 2 > limit) throw new DerError(`truncated element at ${offset}`);
  const tag = bytes[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tags are not supported (at ${offset})`);
  let lengthByte = bytes[offset + 1] ?? 0;
  let start = offset + 2;
  let length: number;
  if (lengthByte < 0x80) {
    length = lengthByte;
  } else {
    const count = lengthByte & 0x7f;
    if (count === 0) return readIndefinite(bytes, tag, offset, start, limit);
    if (count > 4) throw new DerError(`length too large (at ${offset})`);
    if (start + count > limit) throw new DerError(`truncated length at ${offset}`);
    length = 0;
    for (let i = 0; i < count; i += 1) {
      lengthByte = bytes[start + i] ?? 0;
      length = length * 256 + lengthByte;
    }
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new DerError(`element at ${offset} runs past its container`);
  return { tag, bytes, offset, start, contentEnd: end, end };
}

/** A constructed element of indefinite length: its children run until the end-of-contents octets `00 00`. */
function readIndefinite(bytes: Uint8Array, tag: number, offset: number, start: number, limit: number): DerNode {
  if ((tag & 0x20) === 0) throw new DerError(`indefinite length on a primitive element (at ${offset})`);
  let cursor = start;
  while (cursor + 2 <= limit && !(bytes[cursor] === 0 && bytes[cursor + 1] === 0)) cursor = readNode(bytes, cursor, limit).end;
  if (cursor + 2 > limit) throw new DerError(`indefinite-length element at ${offset} has no end-of-contents`);
  return { tag, bytes, offset, start, contentEnd: cursor, end: cursor + 2 };
}

/** Parses a whole buffer that holds exactly one element. */
export function parseDer(bytes: Uint8Array): DerNode {
  const node = readNode(bytes, 0);
  if (node.end !== bytes.length) throw new DerError("trailing bytes after the outer element");
  return node;
}

/** The elements inside a constructed element. */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let offset = node.start;
  while (offset < node.contentEnd) {
    const child = readNode(node.bytes, offset, node.contentEnd);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** The content octets of `node`. */
export function contents(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.start, node.contentEnd);
}

/** The whole encoding of `node`, header included. */
export function encoded(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.offset, node.end);
}

/** Checks the tag of `node` and returns it, or throws naming `what`. */
export function expect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) throw new DerError(`missing ${what}`);
  if (node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  return node;
}

/** The dotted form of an OBJECT IDENTIFIER. */
export function oid(node: DerNode): string {
  expect(node, TAG.oid, "object identifier");
  const body = contents(node);
  if (body.length === 0) throw new DerError("empty object identifier");
  const parts: number[] = [];
  let value = 0;
  for (const byte of body) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join(".");
}

/** A non-negative INTEGER that fits in a JavaScript number. */
export function integer(node: DerNode): number {
  expect(node, TAG.integer, "integer");
  let value = 0;
  for (const byte of contents(node)) value = value * 256 + byte;
  if (!Number.isSafeInteger(value)) throw new DerError("integer too large");
  return value;
}

/**
 * The octets of an OCTET STRING, joining the segments of a constructed (BER) one. `implicitContext0`
 * also accepts the `[0] IMPLICIT OCTET STRING` forms, only where the ASN.1 says so (EncryptedContentInfo):
 * anything accepted elsewhere would be a changed byte that goes unnoticed outside what a MAC covers.
 */
export function octets(node: DerNode, options: { readonly implicitContext0?: boolean } = {}): Uint8Array {
  const implicit = options.implicitContext0 === true;
  if (node.tag === TAG.octetString || (implicit && node.tag === TAG.context0Primitive)) return contents(node);
  if (node.tag === TAG.octetStringConstructed || (implicit && node.tag === TAG.context0)) {
    const parts = children(node).map((part) => octets(part));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
  throw new DerError(`expected an octet string, found tag 0x${node.tag.toString(16)}`);
}
