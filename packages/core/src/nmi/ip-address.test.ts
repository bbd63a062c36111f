import { isIPv4, isIPv6 } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isHostCallerAddress, normalizeIpAddress } from "./ip-address.js";

/** The WHATWG URL parser's canonical text of an IPv6 address (RFC 5952, as ours). */
function urlCanonicalV6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

describe("normalizeIpAddress", () => {
  it("keeps canonical IPv4 as is", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(normalizeIpAddress(ip)).toBe(ip);
      }),
      { numRuns: 300 },
    );
  });

  it("accepts exactly the dotted quads Node's isIPv4 accepts (no leading zeros, octets ≤ 255), as they are", () => {
    const text = fc.string({ unit: fc.constantFrom("0", "1", "2", "5", "6", "9", ".", "a", " "), maxLength: 17 });
    const nearQuad = fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(1100)).map((parts) => parts.join("."));
    const padded = fc.ipV4().map((ip) => ip.replace(/(^|\.)(\d)/, "$10$2"));
    fc.assert(
      fc.property(fc.oneof(text, nearQuad, padded, fc.ipV4()), (candidate) => {
        expect(normalizeIpAddress(candidate)).toBe(isIPv4(candidate) ? candidate : undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it("folds IPv4-mapped IPv6 (dotted or hex tail, any case, any zero compression) to IPv4", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.constantFrom("::ffff:", "::FFFF:", "0:0:0:0:0:ffff:", "0::ffff:", "[::ffff:"), fc.boolean(), (ip, prefix, hex) => {
        const parts = ip.split(".").map(Number);
        const tail = hex
          ? `${(((parts[0] ?? 0) << 8) | (parts[1] ?? 0)).toString(16)}:${(((parts[2] ?? 0) << 8) | (parts[3] ?? 0)).toString(16)}`
          : ip;
        const text = `${prefix}${tail}${prefix.startsWith("[") ? "]" : ""}`;
        expect(normalizeIpAddress(text)).toBe(ip);
      }),
      { numRuns: 300 },
    );
  });

  it("gives the RFC 5952 text for any IPv6 address the URL parser accepts (other than mapped ones)", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const canonical = urlCanonicalV6(ip);
        fc.pre(!canonical.startsWith("::ffff:"));
        expect(normalizeIpAddress(ip)).toBe(canonical);
      }),
      { numRuns: 500 },
    );
  });

  it("returns undefined exactly for strings that are not IP addresses", () => {
    const junk = fc.string({ unit: fc.constantFrom("1", "0", "2", "5", ".", ":", "f", "F", "g", "%", "[", "]"), maxLength: 14 });
    fc.assert(
      fc.property(junk, (text) => {
        const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
        const zoneless = bare.includes(":") && bare.includes("%") ? bare.slice(0, bare.indexOf("%")) : bare;
        const valid = isIPv4(zoneless) ? !/(^|\.)0\d/.test(zoneless) : isIPv6(zoneless);
        expect(normalizeIpAddress(text) !== undefined).toBe(valid);
      }),
      { numRuns: 2000 },
    );
    for (const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "::1::", "1:2:3:4:5:6:7:8:9", "abc", "127.0.0.1:80"]) {
      expect(normalizeIpAddress(bad)).toBeUndefined();
    }
    expect(normalizeIpAddress("fe80::1%eth0")).toBe("fe80::1");
  });

  it("answers a repeated address exactly as the first time, however many distinct addresses came between (the memo is bounded)", () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 }), fc.ipV4().map((ip) => `::ffff:${ip}`));
    fc.assert(
      fc.property(fc.array(address, { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 5_000 }), (addresses, flood) => {
        const first = addresses.map((a) => normalizeIpAddress(a));
        // Enough distinct other addresses to fill the memo past its bound in some runs.
        for (let i = 0; i < flood; i++) normalizeIpAddress(`10.${String(i >> 16)}.${String((i >> 8) & 255)}.${String(i & 255)}`);
        expect(addresses.map((a) => normalizeIpAddress(a))).toEqual(first);
        expect([...addresses].reverse().map((a) => normalizeIpAddress(a))).toEqual([...first].reverse());
      }),
      { numRuns: 40 },
    );
  });

  it("accepts only 127.0.0.1 (also mapped) as the host caller", () => {
    expect(isHostCallerAddress("127.0.0.1")).toBe(true);
    expect(isHostCallerAddress("::ffff:127.0.0.1")).toBe(true);
    expect(isHostCallerAddress("::1")).toBe(false);
    expect(isHostCallerAddress("127.0.0.2")).toBe(false);
    expect(isHostCallerAddress("")).toBe(false);
  });
});
