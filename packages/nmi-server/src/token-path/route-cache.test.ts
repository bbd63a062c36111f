import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyRequestPath } from "@podid/core";
import { RouteCache } from "./2-routes.js";

const TARGET_PIECES = ["/metadata/identity/oauth2/token", "/metadata/Identity/oauth2/token", "/host/token", "/metadata/instance", "//", "/..", "%2F", "%zz", "?", "&", "=", "resource=", "https%3A%2F%2Fvault.azure.net", "client_id=", "Client_ID=", "+", "\\", "é"];

describe("RouteCache", () => {
  it("answers exactly what core's classifyRequestPath answers, on first and repeated targets", () => {
    const target = fc.array(fc.constantFrom(...TARGET_PIECES), { maxLength: 8 }).map((pieces) => pieces.join(""));
    fc.assert(
      fc.property(fc.array(fc.oneof(target, fc.string({ maxLength: 40 })), { minLength: 1, maxLength: 60 }), (targets) => {
        const cache = new RouteCache();
        for (const t of [...targets, ...targets]) expect(cache.classify(t)).toEqual(classifyRequestPath(t));
      }),
      { numRuns: 300 },
    );
  });

  it("stays correct past its bound and for targets too long to keep", () => {
    const cache = new RouteCache();
    const long = `/metadata/identity/oauth2/token?resource=${"a".repeat(600)}`;
    for (let i = 0; i < 3000; i++) {
      const t = `/metadata/identity/oauth2/token?resource=r${String(i % 1500)}`;
      expect(cache.classify(t)).toEqual(classifyRequestPath(t));
    }
    expect(cache.classify(long)).toEqual(classifyRequestPath(long));
  });
});
