import { ApiException } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "@podid/testkit";
import { callKube } from "./kube-call.js";

const throttled = (seconds: number): ApiException<string> =>
  new ApiException(429, "x", JSON.stringify({ kind: "Status", code: 429, reason: "TooManyRequests", message: "slow" }), { "retry-after": String(seconds) });

describe("callKube", () => {
  it("returns values and classified errors without throwing", async () => {
    const clock = new VirtualClock();
    expect(await callKube(clock, () => Promise.resolve(42))).toEqual({ ok: true, value: 42 });
    expect(await callKube(clock, () => Promise.reject(new ApiException(404, "x", "{}", {})))).toMatchObject({ ok: false, error: { kind: "notFound" } });
  });

  it("retries 429 after Retry-After, up to maxRetries, then gives the error back (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 20 }), async (failures, maxRetries, seconds) => {
        const clock = new VirtualClock({ startMs: 0 });
        let calls = 0;
        const pending = callKube(
          clock,
          () => (++calls <= failures ? Promise.reject(throttled(seconds)) : Promise.resolve("done")),
          { maxRetries, maxWaitMs: 10_000 },
        );
        await clock.runUntilIdleAsync();
        const result = await pending;
        const retriable = seconds * 1000 <= 10_000;
        const succeeds = failures === 0 || (retriable && failures <= maxRetries);
        expect(result.ok).toBe(succeeds);
        if (!result.ok) expect(result.error.kind).toBe("throttled");
        expect(calls).toBe(succeeds ? failures + 1 : retriable ? maxRetries + 1 : 1);
        expect(clock.now()).toBe((calls - 1) * seconds * 1000);
      }),
      { numRuns: 60 },
    );
  });
});
