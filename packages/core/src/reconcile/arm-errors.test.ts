import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyArmError, DEFAULT_THROTTLE_RETRY_AFTER_MS, extractIdentityIds, parseRetryAfter } from "./arm-errors.js";

const idArb = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/))
  .map(([s, rg, n]) => `/subscriptions/${s}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`);

describe("extractIdentityIds", () => {
  it("finds every identity id in a LinkedAuthorizationFailed message, as lower-case keys", () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { minLength: 1, maxLength: 5, selector: (x) => x.toLowerCase() }), (ids) => {
        const message =
          "The client 'abc' with object id 'def' has permission to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' on scope 'x'; " +
          `however, it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${ids.join(",")}' or the linked scope(s) are invalid.`;
        expect(extractIdentityIds(message)).toEqual(ids.map((x) => x.toLowerCase()));
      }),
    );
  });

  it("finds ids in a FailedIdentityOperation message", () => {
    const id = "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gone";
    expect(extractIdentityIds(`Identity (principal id: x) operation failed. The resource '${id}' was not found.`)).toEqual([id.toLowerCase()]);
  });

  it("returns nothing for text without identity ids", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(extractIdentityIds(text.replace(/managedidentity/gi, ""))).toEqual([]);
      }),
    );
  });
});

describe("parseRetryAfter", () => {
  it("reads delta seconds and HTTP dates; rejects garbage (TestGetRetryAfter)", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("180", now)).toBe(180_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:20 GMT", now)).toBe(20_000);
    expect(parseRetryAfter("garbage", now)).toBeUndefined();
    expect(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
  });
});

describe("classifyArmError", () => {
  const now = 0;
  it("maps statuses and codes to kinds", () => {
    expect(classifyArmError({ statusCode: 429, message: "slow down", retryAfter: "20" }, now)).toMatchObject({ kind: "throttled", retryAfterMs: 20_000, scope: "target" });
    expect(classifyArmError({ statusCode: 429, code: "SubscriptionRequestsThrottled", message: "x" }, now)).toMatchObject({ kind: "throttled", retryAfterMs: DEFAULT_THROTTLE_RETRY_AFTER_MS, scope: "subscription" });
    expect(classifyArmError({ statusCode: 409, code: "OperationNotAllowed", message: "busy" }, now).kind).toBe("conflict");
    expect(classifyArmError({ statusCode: 412, message: "etag" }, now).kind).toBe("preconditionFailed");
    expect(classifyArmError({ statusCode: 404, code: "ResourceNotFound", message: "no" }, now).kind).toBe("notFound");
    expect(classifyArmError({ statusCode: 403, code: "AuthorizationFailed", message: "no write" }, now).kind).toBe("forbidden");
    expect(classifyArmError({ statusCode: 500, message: "boom" }, now).kind).toBe("transient");
    expect(classifyArmError({ statusCode: 0, code: "REQUEST_SEND_ERROR", message: "ECONNRESET" }, now).kind).toBe("transient");
    expect(classifyArmError({ statusCode: 400, code: "InvalidParameter", message: "User Assigned Identities Number '165' Assign exceed limit '150' in one request" }, now).kind).toBe("tooManyIdentities");
  });

  it("names the refused identities for LinkedAuthorizationFailed and FailedIdentityOperation", () => {
    const id = "/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/bad";
    expect(classifyArmError({ statusCode: 403, code: "LinkedAuthorizationFailed", message: `linked scope(s) '${id}'` }, now)).toEqual({
      kind: "forbiddenIdentities",
      identityKeys: [id],
      message: `linked scope(s) '${id}'`,
    });
    expect(classifyArmError({ statusCode: 400, code: "FailedIdentityOperation", message: `'${id}' not found` }, now)).toMatchObject({ kind: "invalidIdentities", identityKeys: [id] });
    // Without ids a LinkedAuthorizationFailed cannot be narrowed to identities.
    expect(classifyArmError({ statusCode: 403, code: "LinkedAuthorizationFailed", message: "no ids" }, now).kind).toBe("forbidden");
  });
});
