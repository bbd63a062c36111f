import { AuthenticationError, AuthenticationRequiredError, CredentialUnavailableError } from "@azure/identity";
import { describe, expect, it } from "vitest";
import { identityErrorToTokenSourceError } from "./identity-errors.js";

/** MSAL's ServerError, as @azure/identity wraps it (name and fields are what the mapping reads). */
function serverError(errorCode: string, errorMessage: string, status?: number): Error {
  return Object.assign(new Error(errorMessage), { name: "ServerError", errorCode, errorMessage, ...(status !== undefined ? { status } : {}) });
}

describe("identityErrorToTokenSourceError", () => {
  it("reads AAD's answer from AuthenticationError", () => {
    const e = new AuthenticationError(401, { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided." });
    expect(identityErrorToTokenSourceError(e)).toEqual({ kind: "rejected", status: 401, error: "invalid_client", description: "AADSTS7000215: Invalid client secret provided." });
    expect(identityErrorToTokenSourceError(new AuthenticationError(503, { error: "temporarily_unavailable" }))).toMatchObject({ kind: "unavailable" });
  });

  it("reads MSAL's ServerError wrapped in AuthenticationRequiredError, by status", () => {
    const wrap = (cause: Error) => new AuthenticationRequiredError({ scopes: ["s"], message: cause.message, cause });
    expect(identityErrorToTokenSourceError(wrap(serverError("unauthorized_client", "AADSTS700016", 400)))).toEqual({
      kind: "rejected",
      status: 400,
      error: "unauthorized_client",
      description: "AADSTS700016",
    });
    expect(identityErrorToTokenSourceError(wrap(serverError("too_many_requests", "slow", 429)))).toMatchObject({ kind: "throttled", retryAfterMs: 1_000 });
    expect(identityErrorToTokenSourceError(wrap(serverError("server_error", "down", 500)))).toMatchObject({ kind: "unavailable" });
    expect(identityErrorToTokenSourceError(wrap(serverError("invalid_grant", "no status")))).toMatchObject({ kind: "rejected", status: 400 });
  });

  it("treats client-side failures, cancellations and anything unknown as unavailable", () => {
    expect(identityErrorToTokenSourceError(new CredentialUnavailableError("endpoints_resolution_error"))).toMatchObject({ kind: "unavailable" });
    expect(identityErrorToTokenSourceError(Object.assign(new Error("x"), { name: "AbortError" }))).toEqual({ kind: "unavailable", message: "token request cancelled" });
    expect(identityErrorToTokenSourceError("weird")).toMatchObject({ kind: "unavailable", message: "Error: weird" });
  });
});
