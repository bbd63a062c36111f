import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { base64UrlDecode, base64UrlEncode, decodeFakeJwt, encodeFakeJwt, type FakeTokenClaims } from "./fake-jwt.js";

describe("fake JWT encoding", () => {
  it("property: base64url round-trips any bytes and uses only the URL-safe alphabet", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = base64UrlEncode(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect([...base64UrlDecode(text)]).toEqual([...bytes]);
        expect(text).toBe(Buffer.from(bytes).toString("base64url"));
      }),
      { numRuns: 200 },
    );
  });

  it("encodes claims into a three-part token and decodes them back", () => {
    const claims: FakeTokenClaims = { aud: "https://vault.azure.net", iss: "https://sts.windows.net/t/", appid: "c", oid: "o", sub: "o", tid: "t", xms_mirid: "/subscriptions/s/x", iat: 1, nbf: 1, exp: 2, uti: "u", ver: "1.0" };
    const token = encodeFakeJwt(claims);
    expect(token.split(".")).toHaveLength(3);
    expect(JSON.parse(new TextDecoder().decode(base64UrlDecode(token.split(".")[0] ?? "")))).toMatchObject({ typ: "JWT" });
    expect(decodeFakeJwt(token)).toEqual(claims);
    expect(() => decodeFakeJwt("not-a-jwt")).toThrow();
    expect(() => base64UrlDecode("a+b")).toThrow();
  });
});
