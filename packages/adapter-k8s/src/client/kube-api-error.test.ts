import { ApiException } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kubeErrorFromStatus, parseStatusBody, toKubeError } from "./kube-api-error.js";

const statusBody = (code: number, reason: string, message: string, extra: object = {}): string =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message, ...extra });

describe("toKubeError", () => {
  it("parses the raw JSON string body client-node 2.x delivers", () => {
    const conflict = new ApiException(409, "Unknown API Status Code!", statusBody(409, "Conflict", "the object has been modified"), {});
    expect(toKubeError(conflict, 0)).toEqual({ kind: "conflict", alreadyExists: false, message: "the object has been modified" });
    const exists = new ApiException(409, "x", statusBody(409, "AlreadyExists", "exists"), {});
    expect(toKubeError(exists, 0)).toEqual({ kind: "conflict", alreadyExists: true, message: "exists" });
    expect(toKubeError(new ApiException(404, "x", statusBody(404, "NotFound", "gone"), {}), 0)).toEqual({ kind: "notFound", message: "gone" });
    expect(toKubeError(new ApiException(410, "x", statusBody(410, "Expired", "too old"), {}), 0)).toEqual({ kind: "expired", message: "too old" });
    expect(toKubeError(new ApiException(403, "x", { reason: "Forbidden", message: "no" }, {}), 0)).toEqual({ kind: "forbidden", message: "no" });
    expect(toKubeError(new ApiException(422, "x", statusBody(422, "Invalid", "bad"), {}), 0)).toEqual({ kind: "invalid", message: "bad" });
    expect(toKubeError(new ApiException(503, "x", "<html>down</html>", {}), 0)).toEqual({ kind: "transient", message: "<html>down</html>" });
  });

  it("takes the 429 wait from Retry-After, else from details.retryAfterSeconds, else 1 s", () => {
    const withHeader = new ApiException(429, "x", statusBody(429, "TooManyRequests", "slow down", { details: { retryAfterSeconds: 7 } }), { "Retry-After": "3" });
    expect(toKubeError(withHeader, 0)).toEqual({ kind: "throttled", retryAfterMs: 3000, message: "slow down" });
    const withBody = new ApiException(429, "x", statusBody(429, "TooManyRequests", "slow", { details: { retryAfterSeconds: 7 } }), {});
    expect(toKubeError(withBody, 0)).toMatchObject({ kind: "throttled", retryAfterMs: 7000 });
    expect(toKubeError(new ApiException(429, "x", "", {}), 0)).toMatchObject({ kind: "throttled", retryAfterMs: 1000 });
  });

  it("treats network failures, aborts and Watch's status errors sensibly", () => {
    expect(toKubeError(new TypeError("fetch failed", { cause: new Error("ECONNREFUSED") }), 0)).toEqual({
      kind: "transient",
      message: "TypeError: fetch failed (ECONNREFUSED)",
    });
    expect(toKubeError(Object.assign(new Error("Gone"), { statusCode: 410 }), 0)).toMatchObject({ kind: "expired" });
    expect(toKubeError("weird", 0)).toEqual({ kind: "transient", message: "weird" });
  });

  it("classifies every status code into exactly the documented kind (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), fc.option(fc.string(), { nil: undefined }), (code, reason) => {
        const e = kubeErrorFromStatus(code, reason === undefined ? {} : { reason }, undefined, 0);
        const expected =
          code === 409 ? "conflict" : code === 404 ? "notFound" : code === 410 ? "expired" : code === 429 ? "throttled"
          : code === 401 || code === 403 ? "forbidden" : code < 500 ? "invalid" : "transient";
        expect(e.kind).toBe(expected);
        expect(e.message.length).toBeGreaterThan(0);
      }),
    );
  });

  it("never throws on odd bodies", () => {
    fc.assert(fc.property(fc.anything(), (body) => void parseStatusBody(body)));
    fc.assert(fc.property(fc.string(), (body) => void parseStatusBody(body)));
  });
});
