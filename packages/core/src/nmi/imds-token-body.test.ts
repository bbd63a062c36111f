import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toImdsTokenBody } from "./imds-token-body.js";

const context = { nowMs: 1_700_000_000_500, clientId: "cid", resource: "https://vault.azure.net" };
const NOW_S = 1_700_000_000;

const jsonValue = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));

describe("toImdsTokenBody", () => {
  it("always yields all-string IMDS fields, with expires_on and client_id present", () => {
    const rawArb = fc.record(
      {
        access_token: fc.string({ minLength: 1, maxLength: 10 }),
        expires_in: fc.oneof(fc.nat(86_400), fc.nat(86_400).map(String)),
        expires_on: fc.oneof(fc.integer({ min: NOW_S, max: NOW_S + 86_400 }), fc.integer({ min: NOW_S, max: NOW_S + 86_400 }).map(String)),
        token_type: fc.constant("Bearer"),
        resource: fc.constantFrom("https://vault.azure.net", "https://management.azure.com/", "api://app"),
        client_id: fc.uuid(),
        ext_expires_in: fc.nat(),
        extra: jsonValue,
      },
      { requiredKeys: ["access_token"] },
    );
    fc.assert(
      fc.property(rawArb, (raw) => {
        const body = toImdsTokenBody(raw, context);
        if (raw.expires_in === undefined && raw.expires_on === undefined) {
          expect(body.ok).toBe(false);
          return;
        }
        expect(body.ok).toBe(true);
        if (!body.ok) return;
        for (const value of Object.values(body.value)) expect(typeof value).toBe("string");
        for (const key of ["access_token", "refresh_token", "expires_in", "expires_on", "not_before", "resource", "token_type", "client_id"]) {
          expect(body.value).toHaveProperty(key);
        }
        expect(body.value.client_id).toBe(raw.client_id ?? "cid");
        expect(body.value.access_token).toBe(raw.access_token);
        const expectedOn = raw.expires_on !== undefined ? Number(raw.expires_on) : NOW_S + Number(raw.expires_in);
        expect(body.value.expires_on).toBe(String(expectedOn));
        expect(Number(body.value.expires_in)).toBeGreaterThanOrEqual(0);
        if (raw.ext_expires_in !== undefined) expect(body.value["ext_expires_in"]).toBe(String(raw.ext_expires_in));
      }),
      { numRuns: 500 },
    );
  });

  it("derives missing fields and converts date-string expiry (App Service style)", () => {
    expect(toImdsTokenBody({ access_token: "t", expires_in: 3599 }, context)).toEqual({
      ok: true,
      value: {
        access_token: "t",
        expires_in: "3599",
        expires_on: String(NOW_S + 3599),
        refresh_token: "",
        not_before: String(NOW_S),
        resource: "https://vault.azure.net",
        token_type: "Bearer",
        client_id: "cid",
      },
    });
    const iso = toImdsTokenBody({ access_token: "t", expires_on: "2023-11-14T23:13:20Z" }, context);
    expect(iso.ok && iso.value.expires_on).toBe(String(Date.parse("2023-11-14T23:13:20Z") / 1000));
    expect(toImdsTokenBody({ access_token: "", expires_in: 1 }, context).ok).toBe(false);
    expect(toImdsTokenBody({ access_token: "t" }, context)).toEqual({ ok: false, error: { kind: "invalidTokenResponse", reason: "neither expires_on nor expires_in" } });
  });

  it("keeps odd keys as plain data", () => {
    const raw = JSON.parse('{"access_token":"t","expires_in":1,"__proto__":{"x":1}}') as Record<string, unknown>;
    const body = toImdsTokenBody(raw, context);
    expect(body.ok && Object.getPrototypeOf(body.value)).toBe(Object.prototype);
    expect(body.ok && Object.hasOwn(body.value, "__proto__")).toBe(true);
  });
});
