import { describe, expect, it } from "vitest";
import { pollUntil } from "./poll-until.js";

describe("pollUntil", () => {
  it("returns once the check holds, checking again after each pause", async () => {
    let calls = 0;
    await pollUntil("the third call", () => ++calls === 3, { intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it("awaits asynchronous checks", async () => {
    let calls = 0;
    await pollUntil("an async check", async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return ++calls >= 2;
    }, { intervalMs: 1 });
    expect(calls).toBe(2);
  });

  it("throws naming what it waited for once the timeout has passed", async () => {
    const started = Date.now();
    await expect(pollUntil("a thing that never happens", () => false, { timeoutMs: 100, intervalMs: 10 })).rejects.toThrow("timed out waiting for a thing that never happens");
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it("ends the wait with the check's own error", async () => {
    await expect(pollUntil("x", () => { throw new Error("broken check"); })).rejects.toThrow("broken check");
  });
});
