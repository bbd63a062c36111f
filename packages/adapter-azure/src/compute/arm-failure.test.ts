import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import { classifyArmError } from "@podid/core";
import { describe, expect, it } from "vitest";
import { armFailureOf } from "./arm-failure.js";
import { CAPTURED_RETRY_AFTER_HEADER } from "./retry-after-policy.js";

const request = createPipelineRequest({ url: "https://arm.example/x" });
const restError = (statusCode: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new RestError(message, { statusCode, code, request, response: { status: statusCode, headers: createHttpHeaders(headers), request } });
const idA = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a";

describe("armFailureOf", () => {
  it("reads status, ARM code, message and the captured Retry-After of a RestError", () => {
    expect(armFailureOf(restError(429, "TooManyRequests", "slow down", { [CAPTURED_RETRY_AFTER_HEADER]: "17" }))).toEqual({
      statusCode: 429,
      code: "TooManyRequests",
      message: "slow down",
      retryAfter: "17",
    });
    // Without the capture policy the raw header is read.
    expect(armFailureOf(restError(429, "TooManyRequests", "m", { "retry-after": "3" })).retryAfter).toBe("3");
  });

  it("feeds core's classifier: throttling scope, per-identity failures, conflicts, network errors", () => {
    const now = 1_000;
    expect(classifyArmError(armFailureOf(restError(429, "SubscriptionRequestsThrottled", "m", { [CAPTURED_RETRY_AFTER_HEADER]: "5" })), now)).toMatchObject({
      kind: "throttled",
      scope: "subscription",
      retryAfterMs: 5_000,
    });
    expect(classifyArmError(armFailureOf(restError(403, "LinkedAuthorizationFailed", `no access to the linked scope(s) '${idA}'`)), now)).toEqual({
      kind: "forbiddenIdentities",
      identityKeys: [idA.toLowerCase()],
      message: `no access to the linked scope(s) '${idA}'`,
    });
    expect(classifyArmError(armFailureOf(restError(409, "OperationNotAllowed", "busy")), now).kind).toBe("conflict");
    const network = new RestError("connect ECONNREFUSED", { code: RestError.REQUEST_SEND_ERROR, request });
    expect(armFailureOf(network).statusCode).toBe(0);
    expect(classifyArmError(armFailureOf(network), now).kind).toBe("transient");
  });

  it("reads the ARM error of a long-running operation that ended Failed", () => {
    const failure = armFailureOf(new Error(`The long-running operation has failed. FailedIdentityOperation. Identity '${idA}' does not exist.`));
    expect(failure).toEqual({ statusCode: 0, code: "FailedIdentityOperation", message: `Identity '${idA}' does not exist.` });
    expect(classifyArmError(failure, 0)).toMatchObject({ kind: "invalidIdentities", identityKeys: [idA.toLowerCase()] });
    expect(armFailureOf(new Error("The long-running operation has failed"))).toEqual({ statusCode: 0, message: "The long-running operation has failed" });
  });

  it("turns anything else into a status-0 failure (transient)", () => {
    expect(armFailureOf(new TypeError("boom"))).toEqual({ statusCode: 0, message: "TypeError: boom" });
    expect(armFailureOf("weird")).toEqual({ statusCode: 0, message: "weird" });
  });
});
