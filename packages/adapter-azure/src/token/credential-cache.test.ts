import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CredentialCache, credentialKey } from "./credential-cache.js";

describe("CredentialCache", () => {
  it("creates once per key, keeps at most `max` entries and evicts the least recently used", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 60 }), (max, keys) => {
        const cache = new CredentialCache<string>(max);
        const model: number[] = []; // most recent last
        let creations = 0;
        for (const k of keys) {
          const expectedHit = model.includes(k);
          let created = false;
          cache.getOrCreate(String(k), () => {
            created = true;
            creations += 1;
            return String(k);
          });
          expect(created).toBe(!expectedHit);
          if (expectedHit) model.splice(model.indexOf(k), 1);
          model.push(k);
          if (model.length > max) model.shift();
          expect(cache.size).toBe(model.length);
        }
        expect(creations).toBeLessThanOrEqual(keys.length);
      }),
      { numRuns: 200 },
    );
  });

  it("keys never contain the secret, and differ when any part or secret differs", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8 }), fc.string(), fc.string(), (secret, a, b) => {
        const key = credentialKey(["t", a], [secret]);
        expect(credentialKey(["t"], [secret]).includes(secret)).toBe(false);
        expect(credentialKey(["t", a], [secret])).toBe(key);
        if (a !== b) expect(credentialKey(["t", b], [secret])).not.toBe(key);
        expect(credentialKey(["t", a], [`${secret}x`])).not.toBe(key);
        // Boundaries matter: ("ab","c") and ("a","bc") are different secrets.
        expect(credentialKey([], ["ab", "c"])).not.toBe(credentialKey([], ["a", "bc"]));
      }),
      { numRuns: 100 },
    );
  });
});
