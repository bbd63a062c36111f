import { encodeFakeJwt } from "@podid/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accessTokenBody, jwtTimes, resourceToScope } from "./access-token-body.js";

describe("resourceToScope", () => {
  it("appends /.default to any resource exactly once, keeping a trailing slash (AAD v1 audience semantics)", () => {
    expect(resourceToScope("https://management.azure.com/")).toBe("https://management.azure.com//.default");
    expect(resourceToScope("https://vault.azure.net")).toBe("https://vault.azure.net/.default");
    fc.assert(
      fc.property(fc.webUrl(), (url) => {
        expect(resourceToScope(resourceToScope(url))).toBe(resourceToScope(url));
        expect(resourceToScope(url).slice(0, -"/.default".length)).toBe(url);
      }),
      { numRuns: 25 },
    );
  });
});

describe("accessTokenBody", () => {
  const claims = (nbf: number, exp: number) => encodeFakeJwt({ aud: "a", iss: "i", appid: "x", oid: "o", sub: "s", tid: "t", iat: nbf, nbf, exp, uti: "u", ver: "1.0" });

  it("builds IMDS's all-string shape: expires_on never past the JWT's exp, not_before from nbf", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }), fc.integer({ min: 60, max: 90_000 }), fc.integer({ min: -5, max: 5 }), (nbf, lifetime, drift) => {
        const exp = nbf + lifetime;
        const body = accessTokenBody(
          { token: claims(nbf, exp), expiresOnTimestamp: (exp + drift) * 1000, tokenType: "Bearer" },
          { resource: "https://r/", clientId: "cid", nowMs: nbf * 1000 },
        );
        expect(body.ok).toBe(true);
        if (!body.ok) return;
        for (const value of Object.values(body.value)) expect(typeof value).toBe("string");
        expect(Number(body.value.expires_on)).toBe(Math.min(exp, exp + drift));
        expect(body.value).toMatchObject({ not_before: String(nbf), resource: "https://r/", client_id: "cid", token_type: "Bearer", refresh_token: "" });
        expect(Number(body.value.expires_in)).toBe(Math.max(0, Math.min(exp, exp + drift) - nbf));
      }),
      { numRuns: 100 },
    );
  });

  it("falls back to expiresOnTimestamp and now for opaque tokens", () => {
    const body = accessTokenBody({ token: "opaque", expiresOnTimestamp: 2_000_000_000_500 }, { resource: "r", clientId: "c", nowMs: 1_999_999_000_000 });
    expect(body).toMatchObject({ ok: true, value: { expires_on: "2000000000", not_before: "1999999000", expires_in: "1000" } });
    expect(jwtTimes("a.%%%.c")).toEqual({});
    expect(jwtTimes(`x.${Buffer.from(JSON.stringify({ nbf: "no", exp: 5.7 })).toString("base64url")}.y`)).toEqual({ exp: 5 });
  });
});
