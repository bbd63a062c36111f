/**
 * `podid-sim demo` finds the installed MIC, NMI and Key Vault FlexVolume launchers the way Node.js finds packages, and without them
 * says in one line what to install and exits 2 (no stack trace, nothing started).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../cli/program.js";
import { describeMissingDeployables, findDeployableBins } from "./deployable-bins.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const dirs: string[] = [];

/** A project directory with the given packages (name → bin map) in its node_modules, and a file inside it to look from. */
function project(packages: Record<string, Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), "podid-demo-bins-"));
  dirs.push(dir);
  for (const [name, bin] of Object.entries(packages)) {
    const packageDir = join(dir, "node_modules", name);
    mkdirSync(join(packageDir, "bin"), { recursive: true });
    writeFileSync(join(packageDir, "package.json"), JSON.stringify({ name, version: "0.1.0", exports: { ".": "./index.js" }, bin }));
    for (const target of Object.values(bin)) writeFileSync(join(packageDir, target), "");
  }
  return join(dir, "from.js");
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("findDeployableBins", () => {
  it("finds the workspace's podid-mic, podid-nmi and podid-kv launchers from testkit (their exports do not list package.json)", () => {
    const result = findDeployableBins(new URL("./deployable-bins.ts", import.meta.url));
    expect(result).toEqual({
      ok: true,
      value: {
        mic: join(ROOT, "node_modules/@podid/mic-runner/bin/podid-mic.mjs"),
        nmi: join(ROOT, "node_modules/@podid/nmi-server/bin/podid-nmi.mjs"),
        kv: join(ROOT, "node_modules/@podid/kv-flexvolume/bin/podid-kv.mjs"),
      },
    });
  });

  it("names only the missing package in the install command", () => {
    const from = project({ "@podid/mic-runner": { "podid-mic": "bin/podid-mic.mjs" }, "@podid/kv-flexvolume": { "podid-kv": "bin/podid-kv.mjs" } });
    const result = findDeployableBins(from);
    expect(result).toEqual({ ok: false, error: { missing: ["@podid/nmi-server"], problems: [] } });
    if (result.ok) return;
    expect(describeMissingDeployables(result.error)).toBe(
      "podid-sim demo needs @podid/mic-runner, @podid/nmi-server and @podid/kv-flexvolume installed next to @podid/testkit: npm i -D @podid/nmi-server",
    );
  });

  it("reports a package without the expected bin instead of running something else", () => {
    const from = project({ "@podid/mic-runner": { "other-bin": "bin/other.mjs" }, "@podid/nmi-server": { "podid-nmi": "bin/podid-nmi.mjs" }, "@podid/kv-flexvolume": { "podid-kv": "bin/podid-kv.mjs" } });
    const result = findDeployableBins(from);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.missing).toEqual([]);
    expect(result.error.problems).toEqual([expect.stringMatching(/@podid\/mic-runner\/package\.json declares no "podid-mic" bin$/)]);
  });
});

describe("podid-sim demo without the deployables", () => {
  it("prints one line naming all three packages and exits 2", async () => {
    const lines: { out: string[]; err: string[] } = { out: [], err: [] };
    const before = process.exitCode;
    try {
      await runCli(["node", "podid-sim", "demo"], {
        out: (line) => lines.out.push(line),
        err: (line) => lines.err.push(line),
        untilSignal: () => new Promise(() => undefined),
        deployablesFrom: project({}),
      });
      expect(process.exitCode).toBe(2);
    } finally {
      process.exitCode = before;
    }
    expect(lines).toEqual({
      out: [],
      err: [
        "podid-sim demo needs @podid/mic-runner, @podid/nmi-server and @podid/kv-flexvolume installed next to @podid/testkit: npm i -D @podid/mic-runner @podid/nmi-server @podid/kv-flexvolume",
      ],
    });
  });
});
