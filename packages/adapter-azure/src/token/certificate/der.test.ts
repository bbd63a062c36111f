import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { children, DerError, integer, octets, oid, parseDer, TAG } from "./der.js";

function tlv(tag: number, body: Uint8Array): Uint8Array {
  const len = body.length;
  const header =
    len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
  return new Uint8Array([...header, ...body]);
}

function encodeOid(arcs: readonly number[]): Uint8Array {
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(TAG.oid, new Uint8Array(out));
}

describe("DER reader", () => {
  it("decodes object identifiers", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat({ max: 2 ** 31 }), { maxLength: 8 })),
        ([a, b, rest]) => {
          expect(oid(parseDer(encodeOid([a, b, ...rest])))).toBe([a, b, ...rest].join("."));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("walks nested sequences and reads integers and (constructed) octet strings", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 }), (n, parts) => {
        const intBytes = [] as number[];
        for (let v = n; v > 0; v = Math.floor(v / 256)) intBytes.unshift(v % 256);
        const constructed = tlv(TAG.octetStringConstructed, new Uint8Array(parts.flatMap((p) => [...tlv(TAG.octetString, p)])));
        const seq = parseDer(tlv(TAG.sequence, new Uint8Array([...tlv(TAG.integer, new Uint8Array([0, ...intBytes])), ...constructed])));
        const [i, o] = children(seq);
        expect(integer(i!)).toBe(n);
        expect(Buffer.from(octets(o!)).toString("hex")).toBe(Buffer.from(parts.flatMap((p) => [...p])).toString("hex"));
      }),
      { numRuns: 100 },
    );
  });

  it("reads the [0] IMPLICIT forms of an octet string only when asked to", () => {
    for (const node of [parseDer(new Uint8Array([0x80, 0x01, 0xaa])), parseDer(new Uint8Array([0xa0, 0x03, 0x04, 0x01, 0xaa]))]) {
      expect(() => octets(node)).toThrow(DerError);
      expect(Buffer.from(octets(node, { implicitContext0: true })).toString("hex")).toBe("aa");
    }
  });

  it("reads BER indefinite lengths of constructed elements", () => {
    const seq = parseDer(new Uint8Array([0x30, 0x80, 0x02, 0x01, 0x07, 0x24, 0x80, 0x04, 0x01, 0xaa, 0x04, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x00]));
    const [i, o] = children(seq);
    expect(integer(i!)).toBe(7);
    expect(Buffer.from(octets(o!)).toString("hex")).toBe("aabb");
    expect(children(seq)).toHaveLength(2);
  });

  it("refuses truncated, malformed and overrunning input", () => {
    expect(() => parseDer(new Uint8Array([0x30]))).toThrow(DerError);
    expect(() => parseDer(new Uint8Array([0x30, 0x80, 0x02, 0x01, 0x01]))).toThrow(/end-of-contents/);
    expect(() => parseDer(new Uint8Array([0x04, 0x80, 0x00, 0x00]))).toThrow(/primitive/);
    expect(() => parseDer(new Uint8Array([0x30, 0x05, 0x02, 0x01]))).toThrow(DerError);
    expect(() => parseDer(new Uint8Array([0x02, 0x01, 0x01, 0x00]))).toThrow(/trailing/);
  });
});
