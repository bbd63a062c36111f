import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "./test-support/run-cli.js";
import { PODID_CLI_VERSION } from "./version.js";

describe("podid --version", () => {
  it("equals the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(PODID_CLI_VERSION).toBe(pkg.version);
  });

  it("prints `podid <version>` and exits 0, as the kubectl plugin too", async () => {
    expect(await runCli(["--version"])).toEqual({ code: 0, stdout: `podid ${PODID_CLI_VERSION}\n`, stderr: "" });
    expect((await runCli(["--version"], { name: "kubectl podid" })).stdout).toBe(`podid ${PODID_CLI_VERSION}\n`);
  });

  it("--help names the exit codes", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 success[\s\S]*2 explain: a verdict is a problem/);
  });
});
