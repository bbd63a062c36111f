import {
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  defaultRetryPolicy,
  type HttpClient,
  type PipelineRequest,
} from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { CAPTURED_RETRY_AFTER_HEADER, retryAfterCapturePolicy } from "./retry-after-policy.js";

/** The SDK's retry policy above the capture policy, as `additionalPolicies: [{ position: "perRetry" }]` places it. */
function pipelineAnswering(status: number, headers: Record<string, string>) {
  let calls = 0;
  const client: HttpClient = {
    sendRequest: async (request: PipelineRequest) => {
      calls += 1;
      return { status, headers: createHttpHeaders(headers), request };
    },
  };
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(defaultRetryPolicy({ maxRetries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 2 }), { phase: "Retry" });
  pipeline.addPolicy(retryAfterCapturePolicy(), { afterPhase: "Retry" });
  return { send: () => pipeline.sendRequest(client, createPipelineRequest({ url: "https://arm.example/x" })), calls: () => calls };
}

describe("retryAfterCapturePolicy", () => {
  it("keeps the SDK from sleeping on a 429's Retry-After and hands the hint to the adapter", async () => {
    const p = pipelineAnswering(429, { "retry-after": "3600" });
    const started = Date.now();
    const response = await p.send();
    expect(p.calls()).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(response.headers.get(CAPTURED_RETRY_AFTER_HEADER)).toBe("3600");
    expect(response.headers.get("retry-after")).toBeUndefined();
  });

  it("converts millisecond hints to seconds", async () => {
    const response = await pipelineAnswering(429, { "x-ms-retry-after-ms": "1500" }).send();
    expect(response.headers.get(CAPTURED_RETRY_AFTER_HEADER)).toBe("2");
  });

  it("lets the SDK retry a 503 with its own bounded backoff instead of the server's Retry-After", async () => {
    const p = pipelineAnswering(503, { "retry-after": "3600" });
    await p.send();
    expect(p.calls()).toBe(4);
  });

  it("leaves other responses alone (LRO polling keeps its Retry-After)", async () => {
    const response = await pipelineAnswering(202, { "retry-after": "7" }).send();
    expect(response.headers.get("retry-after")).toBe("7");
    expect(response.headers.get(CAPTURED_RETRY_AFTER_HEADER)).toBeUndefined();
  });
});
