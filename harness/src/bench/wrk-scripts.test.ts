import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { loadSeconds, saturatedScript } from "./wrk-scripts.js";

const execFileAsync = promisify(execFile);

/** Runs wrk (Debian's, as `bench:nmi` does) with `script` against `port` for one second; returns its stdout. */
async function runWrk(script: string, connections: number, port: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "podid-wrk-script-"));
  try {
    await writeFile(join(dir, "script.lua"), script);
    const { stdout } = await execFileAsync("wrk", ["-t1", `-c${String(connections)}`, "-d1s", "-s", join(dir, "script.lua"), `http://127.0.0.1:${String(port)}/`]);
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A loopback server that notes how many connections it had accepted when the first request arrived. */
function countingServer(): { server: Server; acceptedAtFirstRequest: () => number | undefined } {
  let accepted = 0;
  let atFirst: number | undefined;
  const server = createServer((_request, response) => {
    atFirst ??= accepted;
    response.end("{}");
  });
  server.on("connection", () => (accepted += 1));
  return { server, acceptedAtFirstRequest: () => atFirst };
}

const CONNECTIONS = 40;
/** Longer than the benchmark's (its server is idle at a slice's start; this one shares a busy test machine). */
const HOLD_MS = 250;
let open: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (open === undefined ? resolve() : open.close(() => resolve())));
  open = undefined;
});

describe("saturatedScript", () => {
  it("is wrk's Debian build, installed (CI installs it)", () => {
    expect(spawnSync("sh", ["-c", "command -v wrk"]).status).toBe(0);
  });

  it("holds nothing when asked for no hold (no delay function, every request sent at once)", () => {
    expect(saturatedScript(CONNECTIONS, 0)).not.toContain("delay");
    expect(saturatedScript(CONNECTIONS)).toContain(`if delays <= ${String(CONNECTIONS)} then return 50 end`);
  });

  it("sends no request before the server has accepted every connection, then loads it and prints the summary", async () => {
    const { server, acceptedAtFirstRequest } = countingServer();
    open = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const stdout = await runWrk(saturatedScript(CONNECTIONS, HOLD_MS), CONNECTIONS, (server.address() as AddressInfo).port);
    // wrk may open one connection more than asked (it did here: 41 of 40); every one of them is in.
    expect(acceptedAtFirstRequest()).toBeGreaterThanOrEqual(CONNECTIONS);
    const summary = JSON.parse(stdout.split("\n").find((l) => l.startsWith("BENCH "))?.slice(6) ?? "{}") as { requests?: number; status?: number };
    expect(summary.status).toBe(0);
    // Saturated after the hold: far more requests than connections.
    expect(summary.requests ?? 0).toBeGreaterThan(CONNECTIONS * 10);
    expect(stdout).toContain("HIST {");
  });
});

describe("loadSeconds", () => {
  it("leaves the hold out of the loaded time", () => {
    expect(loadSeconds(1_050_000, 50)).toBeCloseTo(1, 9);
    expect(loadSeconds(1_000_000, 0)).toBeCloseTo(1, 9);
  });
});
