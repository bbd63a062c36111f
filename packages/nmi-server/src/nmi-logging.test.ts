import fs from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createNmiLogging } from "./nmi-logging.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("createNmiLogging's default stream (stdout)", () => {
  it("writes each line and each turn's audit chunk to fd 1 synchronously, never through the thread pool", () => {
    // Asynchronous `fs.write` would hand every chunk to a libuv pool thread and wake the event loop when it is
    // done: a cost per event-loop turn on NMI's hot path, and lines still in flight when the process is killed.
    const written: string[] = [];
    const asyncWrite = vi.spyOn(fs, "write");
    const syncWrite = vi.spyOn(fs, "writeSync").mockImplementation(((fd: number, data: string | NodeJS.ArrayBufferView) => {
      expect(fd).toBe(1);
      const text = typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
      written.push(text);
      return Buffer.byteLength(text);
    }) as typeof fs.writeSync);
    const logging = createNmiLogging({ base: { node: "n" } });
    logging.pino.info({ step: 1 }, "before");
    // Written before the next statement runs: nothing is pending in any queue.
    expect(written.join("")).toContain('"msg":"before"');
    logging.audit.write({ requestId: "r-1", method: "GET", route: "token", sourceIp: "10.0.0.5", decision: "allowed", status: 200, durationMs: 1 });
    logging.audit.flush();
    expect(written.join("")).toContain('"requestId":"r-1"');
    expect(syncWrite).toHaveBeenCalled();
    expect(asyncWrite).not.toHaveBeenCalled();
  });
});
