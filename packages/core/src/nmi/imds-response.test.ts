import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KubeError } from "../ports/kube-errors.js";
import type { TokenSourceError } from "../ports/token-source.port.js";
import type { AttributionError } from "./caller-attribution.js";
import type { BadRequestReason } from "./decision.js";
import type { HostTokenScopeDenial } from "./host-token-scope.js";
import { IMDS_CONTENT_TYPE, toImdsResponse, type NmiOutcome } from "./imds-response.js";

const IMDS_ERROR_CODES = ["invalid_request", "bad_request", "forbidden", "not_found", "server_error", "service_unavailable", "too_many_requests"];

const ref = { namespace: "team-a", name: "web-0", uid: "u" };
const identity = {
  kind: "AzureIdentity" as const,
  metadata: { name: "id", namespace: "team-a", labels: {}, annotations: {}, finalizers: [] },
  spec: { type: 0 as const, resourceID: "/r", clientID: "c", tenantID: "", auxiliaryTenantIDs: [], adEndpoint: "", adResourceID: "", serviceAccounts: [] },
};
const token = {
  access_token: "eyJ0",
  refresh_token: "",
  expires_in: "3599",
  expires_on: "1700003599",
  not_before: "1700000000",
  resource: "https://vault.azure.net",
  token_type: "Bearer",
  client_id: "c",
};

const badRequestArb: fc.Arbitrary<BadRequestReason> = fc.constantFrom<BadRequestReason>(
  { kind: "metadataHeaderMissing" },
  { kind: "forwardedHeader", header: "X-Forwarded-For" },
  { kind: "missingResource" },
  { kind: "repeatedParameter", name: "client_id" },
  { kind: "nonCanonicalParameter", name: "Resource", expected: "resource" },
  { kind: "multipleSelectors", names: ["client_id", "object_id"] },
  { kind: "rejectedPath", reason: "backslash" },
  { kind: "missingPodHeaders" },
);

const attributionArb: fc.Arbitrary<AttributionError> = fc.constantFrom<AttributionError>(
  { kind: "invalidSourceAddress", sourceIp: "" },
  { kind: "invalidSourceAddress", sourceIp: "x" },
  { kind: "unknownCaller", sourceIp: "10.0.0.1" },
  { kind: "ambiguousCaller", sourceIp: "10.0.0.1", pods: [ref, ref] },
  { kind: "callerTerminating", sourceIp: "10.0.0.1", pod: ref },
  { kind: "callerChanged", expected: ref, actual: ref },
  { kind: "namedPodNotFound", namespace: "a", name: "b" },
);

const tokenErrorArb: fc.Arbitrary<TokenSourceError> = fc.oneof(
  fc.record({ kind: fc.constant("rejected" as const), status: fc.constantFrom(400, 401, 403), error: fc.constant("invalid_request"), description: fc.constant("Identity not found") }),
  fc.record({ kind: fc.constant("unavailable" as const), message: fc.constant("IMDS timed out") }),
  fc.record({ kind: fc.constant("throttled" as const), retryAfterMs: fc.nat(120_000), message: fc.constant("slow down") }),
);

const kubeErrorArb: fc.Arbitrary<KubeError> = fc.oneof(
  fc.constantFrom<KubeError>(
    { kind: "notFound", message: "m" },
    { kind: "forbidden", message: "m" },
    { kind: "invalid", message: "m" },
    { kind: "transient", message: "m" },
    { kind: "expired", message: "m" },
    { kind: "conflict", alreadyExists: false, message: "m" },
  ),
  fc.nat(60_000).map((ms): KubeError => ({ kind: "throttled", retryAfterMs: ms, message: "m" })),
);

const secretRef = { name: "s", namespace: "team-a" };

const outcomeArb: fc.Arbitrary<NmiOutcome> = fc.oneof(
  badRequestArb.map((reason): NmiOutcome => ({ kind: "badRequest", reason })),
  attributionArb.map((error): NmiOutcome => ({ kind: "callerUnknown", error })),
  fc.constantFrom<NmiOutcome>({ kind: "hostTokenDenied", reason: "notFromHost" }, { kind: "hostTokenDenied", reason: "disabled" }, { kind: "instanceBlocked" }),
  fc
    .constantFrom<HostTokenScopeDenial>(
      { kind: "podNotOnNode" },
      { kind: "podNotLive", phase: "Succeeded" },
      { kind: "podTerminating" },
      { kind: "podAmbiguous" },
      { kind: "noKeyVaultVolume" },
      { kind: "flexVolumeWithoutPodIdentity", volume: "v" },
      { kind: "csiVolumeWithoutClass", volume: "v" },
      { kind: "secretProviderClassNotFound", namespace: "a", name: "spc" },
      { kind: "secretProviderClassNotAzure", namespace: "a", name: "spc", provider: "vault" },
      { kind: "secretProviderClassWithoutPodIdentity", namespace: "a", name: "spc" },
    )
    .map((reason): NmiOutcome => ({ kind: "hostTokenOutOfScope", pod: { namespace: "a", name: "b" }, reason })),
  fc
    .option(kubeErrorArb, { nil: undefined })
    .map((error): NmiOutcome => ({
      kind: "hostTokenScopeUnavailable",
      pod: { namespace: "a", name: "b" },
      secretProviderClass: { namespace: "a", name: "spc" },
      ...(error === undefined ? {} : { error }),
    })),
  fc
    .tuple(
      fc.constantFrom(
        { kind: "noAssignedIdentity" as const },
        { kind: "notAssignedInTime" as const },
        { kind: "noBoundIdentity" as const },
        { kind: "requestedIdentityNotFound" as const, selector: { by: "client_id" as const, value: "x" } },
      ),
      fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    )
    .map(([reason, retry]): NmiOutcome =>
      retry === undefined ? { kind: "notFound", caller: ref, reason } : { kind: "notFound", caller: ref, reason, retryAfterSeconds: retry },
    ),
  fc.constant<NmiOutcome>({ kind: "invalidIdentity", caller: ref, identity, reason: "bad" }),
  fc.constantFrom<NmiOutcome>(
    { kind: "exceptionRefused", caller: ref, reason: { kind: "managedIdentity", selector: { by: "client_id", value: "c" }, identity: { namespace: "ns", name: "id" } } },
    { kind: "exceptionRefused", caller: ref, reason: { kind: "unverifiableSelector", selector: { by: "object_id", value: "o" } } },
    { kind: "methodNotAllowed", method: "PURGE", allow: ["GET", "HEAD"] },
    { kind: "httpVersionNotSupported", version: "2.0" },
  ),
  fc.constantFrom<NmiOutcome>({ kind: "issued", shape: "imds", token }, { kind: "issued", shape: "host", token, clientId: "c" }),
  tokenErrorArb.map((error): NmiOutcome => ({ kind: "tokenFailed", error })),
  fc.oneof(
    fc.constant<NmiOutcome>({ kind: "secretFailed", failure: { kind: "secretInvalid", secretRef, reason: "no key" } }),
    kubeErrorArb.map((error): NmiOutcome => ({ kind: "secretFailed", failure: { kind: "secretReadFailed", secretRef, error } })),
  ),
  // Federated identities (docs/adr/0021-federated-identities.md).
  fc.constantFrom<NmiOutcome>(
    { kind: "federatedRefused", caller: ref, identity, reason: "serviceAccountNotTrusted" },
    { kind: "federatedRefused", caller: ref, identity, reason: "federatedTokenVolumeMissing" },
    { kind: "serviceAccountTokenFailed", error: { kind: "missing", reason: "r" } },
    { kind: "serviceAccountTokenFailed", error: { kind: "unreadable", reason: "r" } },
    { kind: "serviceAccountTokenFailed", error: { kind: "mismatch", claim: "sub", reason: "r" } },
    { kind: "serviceAccountTokenFailed", error: { kind: "expired", expiresAtMs: 1 } },
  ),
);

/** The documented status of each outcome. */
function documentedStatus(outcome: NmiOutcome): number {
  switch (outcome.kind) {
    case "badRequest":
      return 400;
    case "callerUnknown":
      return 500;
    case "hostTokenDenied":
      return outcome.reason === "notFromHost" ? 500 : 403;
    case "hostTokenOutOfScope":
      return 403;
    case "hostTokenScopeUnavailable":
      return 503;
    case "instanceBlocked":
    case "invalidIdentity":
    case "exceptionRefused":
      return 403;
    case "methodNotAllowed":
      return 405;
    case "httpVersionNotSupported":
      return 505;
    case "notFound":
      return outcome.retryAfterSeconds === undefined ? 404 : 503;
    case "issued":
      return 200;
    case "tokenFailed":
      return { rejected: 403, unavailable: 503, throttled: 429 }[outcome.error.kind];
    case "secretFailed":
      if (outcome.failure.kind === "secretInvalid") return 403;
      return ["notFound", "forbidden", "invalid"].includes(outcome.failure.error.kind) ? 403 : 503;
    case "federatedRefused":
      return 403;
    case "serviceAccountTokenFailed":
      return outcome.error.kind === "mismatch" ? 403 : 503;
  }
}

describe("toImdsResponse", () => {
  it("maps every outcome to its documented status with an IMDS-shaped JSON body (d)", () => {
    fc.assert(
      fc.property(outcomeArb, (outcome) => {
        const response = toImdsResponse(outcome);
        expect(response.status).toBe(documentedStatus(outcome));
        expect(response.headers["content-type"]).toBe(IMDS_CONTENT_TYPE);
        expect(JSON.parse(JSON.stringify(response.body))).toEqual(response.body);
        if (response.status === 200) return;
        const body = response.body as unknown as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
        expect(IMDS_ERROR_CODES).toContain(body["error"]);
        expect(typeof body["error_description"]).toBe("string");
        expect(body["error_description"]).not.toBe("");
        const retryAfter = response.headers["retry-after"];
        if (response.status === 429 || (outcome.kind === "notFound" && outcome.retryAfterSeconds !== undefined)) {
          expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
        }
        if (retryAfter !== undefined) expect([429, 503]).toContain(response.status);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps the original's exact texts and codes where clients look for them", () => {
    expect(toImdsResponse({ kind: "badRequest", reason: { kind: "metadataHeaderMissing" } })).toEqual({
      status: 400,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: { error: "invalid_request", error_description: "Required metadata header not specified" },
    });
    expect(toImdsResponse({ kind: "badRequest", reason: { kind: "rejectedPath", reason: "backslash" } }).body).toEqual({
      error: "invalid_request",
      error_description: "Invalid request",
    });
    expect(toImdsResponse({ kind: "notFound", caller: ref, reason: { kind: "noAssignedIdentity" }, retryAfterSeconds: 20 })).toMatchObject({
      status: 503,
      headers: { "retry-after": "20" },
      body: { error: "service_unavailable" },
    });
    expect(toImdsResponse({ kind: "hostTokenDenied", reason: "notFromHost" }).body).toEqual({
      error: "server_error",
      error_description: "request remote address is not from a host",
    });
    expect(toImdsResponse({ kind: "instanceBlocked" }).body).toEqual({ error: "forbidden", error_description: "Request blocked by AAD Pod Identity NMI" });
    expect(toImdsResponse({ kind: "tokenFailed", error: { kind: "throttled", retryAfterMs: 1500, message: "m" } }).headers["retry-after"]).toBe("2");
    expect(toImdsResponse({ kind: "tokenFailed", error: { kind: "throttled", retryAfterMs: 0, message: "m" } }).headers["retry-after"]).toBe("1");
  });

  it("renders tokens as IMDS objects, or the original's host shape", () => {
    expect(toImdsResponse({ kind: "issued", shape: "imds", token })).toEqual({ status: 200, headers: { "content-type": IMDS_CONTENT_TYPE }, body: token });
    // The host shape carries exactly the original's adal.Token fields, in its order (no client_id, no extras).
    const host = toImdsResponse({ kind: "issued", shape: "host", token: { ...token, ext_expires_in: "86399" }, clientId: "c" }).body;
    const { client_id: _clientId, ...adal } = token;
    expect(host).toEqual({ token: adal, clientid: "c" });
    expect(Object.keys((host as { token: object }).token)).toEqual(["access_token", "refresh_token", "expires_in", "expires_on", "not_before", "resource", "token_type"]);
  });

  it("does not reveal which other pods share an address", () => {
    const response = toImdsResponse({
      kind: "callerUnknown",
      error: { kind: "ambiguousCaller", sourceIp: "10.0.0.1", pods: [{ namespace: "secret-ns", name: "secret-pod", uid: "x" }] },
    });
    expect(JSON.stringify(response.body)).not.toContain("secret");
  });
});
