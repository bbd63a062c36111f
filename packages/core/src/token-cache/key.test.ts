import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeTokenCacheKey, tokenCacheKey } from "./key.js";

describe("tokenCacheKey", () => {
  it("keeps a trailing slash and case significant (AAD echoes them into aud)", () => {
    const a = tokenCacheKey("client:1", "https://management.azure.com/");
    const b = tokenCacheKey("client:1", "https://management.azure.com");
    const c = tokenCacheKey("client:1", "https://Management.azure.com/");
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!a.ok || !b.ok || !c.ok) return;
    expect(encodeTokenCacheKey(a.value)).not.toBe(encodeTokenCacheKey(b.value));
    expect(encodeTokenCacheKey(a.value)).not.toBe(encodeTokenCacheKey(c.value));
  });

  it("rejects an empty identity key or a blank resource", () => {
    expect(tokenCacheKey("", "https://x")).toEqual({ ok: false, error: { kind: "emptyIdentityKey" } });
    expect(tokenCacheKey("client:1", " \t ")).toEqual({ ok: false, error: { kind: "emptyResource" } });
  });

  it("trims only surrounding whitespace", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.constantFrom("", " ", "\t", " \n"), (id, resource, pad) => {
        const key = tokenCacheKey(id, `${pad}${resource}${pad}`);
        if (resource.trim().length === 0) expect(key.ok).toBe(false);
        else expect(key).toEqual({ ok: true, value: { identityKey: id, resource: resource.trim() } });
      }),
    );
  });

  it("encodes different keys differently, whatever characters they hold", () => {
    const part = fc.string({ unit: fc.constantFrom("a", "1", ":", "/", "x"), maxLength: 6 });
    fc.assert(
      fc.property(part, part, part, part, (i1, r1, i2, r2) => {
        const same = i1 === i2 && r1 === r2;
        const e1 = encodeTokenCacheKey({ identityKey: i1, resource: r1 });
        const e2 = encodeTokenCacheKey({ identityKey: i2, resource: r2 });
        expect(e1 === e2).toBe(same);
      }),
      { numRuns: 500 },
    );
  });
});
