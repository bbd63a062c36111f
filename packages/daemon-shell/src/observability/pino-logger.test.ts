import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createDaemonPino, pinoLoggerPort, REDACTED, silentPino } from "./pino-logger.js";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  return { stream, lines: () => chunks.join("").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("createDaemonPino", () => {
  it("writes JSON lines with the component, base fields, ISO time and a textual level", () => {
    const out = capture();
    const logger = pinoLoggerPort(createDaemonPino({ component: "mic", redactPaths: [], base: { instance: "mic-0" }, destination: out.stream }));
    logger.child({ part: "controller" }).info({ pass: 3 }, "planned");
    const [line] = out.lines();
    expect(line).toMatchObject({ level: "info", component: "mic", instance: "mic-0", part: "controller", pass: 3, msg: "planned" });
    expect(String(line?.["time"])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("redacts the daemon's own paths, and only those", () => {
    const out = capture();
    const logger = pinoLoggerPort(createDaemonPino({ component: "nmi", redactPaths: ["token", "*.secret", "headers.authorization"], destination: out.stream }));
    logger.warn({ token: "t0k", nested: { secret: "s3cr3t" }, headers: { authorization: "Bearer x", accept: "json" }, password: "kept" }, "line");
    const [line] = out.lines();
    expect(line).toMatchObject({ token: REDACTED, nested: { secret: REDACTED }, headers: { authorization: REDACTED, accept: "json" }, password: "kept" });
  });

  it("honours the level; silentPino writes nothing", () => {
    const out = capture();
    const logger = pinoLoggerPort(createDaemonPino({ component: "mic", redactPaths: [], level: "warn", destination: out.stream }));
    logger.debug({}, "no");
    logger.info({}, "no");
    logger.error({}, "yes");
    expect(out.lines().map((l) => l["msg"])).toEqual(["yes"]);
    expect(silentPino().isLevelEnabled("error")).toBe(false);
  });
});
