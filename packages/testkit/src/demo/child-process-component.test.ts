import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../cli/free-port.js";
import { startChildProcess } from "./child-process-component.js";

// A stand-in deployable: logs one JSON line naming what it sees of the environment, then answers its health URL.
const SCRIPT = `
const http = require("node:http");
process.stdout.write(JSON.stringify({ msg: "started", mark: process.env.PODID_TEST_MARK ?? null, own: process.env.OWN ?? null, hasPath: typeof process.env.PATH === "string" }) + "\\n");
process.stdout.write("not json\\n");
http.createServer((req, res) => res.end("ok")).listen(Number(process.argv[2]), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "podid-child-process-"));
  writeFileSync(join(dir, "deployable.cjs"), SCRIPT);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function startedLine(inheritEnvironment: boolean | undefined): Promise<Record<string, unknown>> {
  const port = await freePort();
  const lines: Record<string, unknown>[] = [];
  const child = await startChildProcess({
    name: "stand-in",
    script: join(dir, "deployable.cjs"),
    args: [String(port)],
    env: { OWN: "given" },
    ...(inheritEnvironment === undefined ? {} : { inheritEnvironment }),
    healthUrl: `http://127.0.0.1:${port}/healthz`,
    startTimeoutMs: 15_000,
    onLog: (line) => lines.push(line),
  });
  await child.stop();
  expect(child.process.exitCode).toBe(0);
  expect(lines).toHaveLength(1);
  return lines[0] ?? {};
}

describe("startChildProcess", () => {
  it("passes this process's environment under the given one by default, and only JSON log lines to onLog", async () => {
    process.env["PODID_TEST_MARK"] = "inherited";
    try {
      expect(await startedLine(undefined)).toEqual({ msg: "started", mark: "inherited", own: "given", hasPath: true });
    } finally {
      delete process.env["PODID_TEST_MARK"];
    }
  });

  it("with inheritEnvironment false, gives the child only PATH and the given environment", async () => {
    process.env["PODID_TEST_MARK"] = "inherited";
    try {
      expect(await startedLine(false)).toEqual({ msg: "started", mark: null, own: "given", hasPath: true });
    } finally {
      delete process.env["PODID_TEST_MARK"];
    }
  });
});
