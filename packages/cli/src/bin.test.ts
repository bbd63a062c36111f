/**
 * The built entry points as a user runs them: `node dist/podid.js` (the `podid` bin, what `npx podid`
 * runs) and `kubectl podid …` (kubectl finds the `kubectl-podid` executable on PATH and passes it the
 * arguments after `podid`). Output and exit codes must equal the in-process program's.
 *
 * Robust build, as the podid-sim test: beforeAll runs `tsc -b packages/cli` (a no-op after
 * `npm test`'s build) and checks that the dist entries exist rather than trusting tsc's exit code.
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExplainWorld } from "./test-support/explain-world.js";
import { expectGolden } from "./test-support/golden.js";
import { REPO_ROOT } from "./test-support/run-cli.js";

const NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
const TSC = join(REPO_ROOT, "node_modules", ".bin", "tsc");
const PODID = join(REPO_ROOT, "packages", "cli", "dist", "podid.js");
const KUBECTL_PODID = join(REPO_ROOT, "packages", "cli", "dist", "kubectl-podid.js");
const KUBECTL = process.env["PODID_KUBECTL"] ?? "kubectl";
const kubectlAvailable = spawnSync(KUBECTL, ["version", "--client"], { timeout: 20_000 }).status === 0;
const DEMO_PLAN = ["plan", "-f", "examples/demo", "-f", "examples/plan", "--assume-node", "aks-demo-12345678-vmss000001"];

let dir = "";
let pluginDir = "";

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd: REPO_ROOT, env, timeout: 30_000, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "podid-bin-"));
  spawnSync(TSC, ["-b", join(REPO_ROOT, "packages", "cli")], { cwd: REPO_ROOT, timeout: 120_000 });
  for (const entry of [PODID, KUBECTL_PODID]) if (!existsSync(entry)) throw new Error(`${entry} was not built`);
  // What `npm install -g` / `npx` does with the `kubectl-podid` bin: an executable of that name on PATH.
  pluginDir = join(dir, "bin");
  spawnSync("mkdir", ["-p", pluginDir]);
  const wrapper = join(pluginDir, "kubectl-podid");
  writeFileSync(wrapper, `#!/bin/sh\nexec "${NODE}" "${KUBECTL_PODID}" "$@"\n`);
  chmodSync(wrapper, 0o755);
}, 130_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the podid and kubectl-podid bins", () => {
  it("have shebangs and print the same plan as the program", async () => {
    for (const entry of [PODID, KUBECTL_PODID]) expect(readFileSync(entry, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const result = await run(NODE, [PODID, ...DEMO_PLAN]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expectGolden("plan-demo.txt", result.stdout);
  }, 30_000);

  it("exit with 2 on findings and 1 on errors", async () => {
    expect((await run(NODE, [PODID, ...DEMO_PLAN, "--quarantined", "/subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-kv-reader"])).code).toBe(2);
    const missing = await run(NODE, [PODID, "plan", "-f", "no/such/dir"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("podid: cannot read no/such/dir: no such file or directory\n  → check the path given to -f\n");
  }, 30_000); // two process starts: beyond vitest's 5 s default on a loaded machine

  it.skipIf(!kubectlAvailable)("run as a kubectl plugin: kubectl podid plan / explain", async () => {
    const env = { ...process.env, PATH: `${pluginDir}${delimiter}${process.env["PATH"] ?? ""}` };
    const listed = await run(KUBECTL, ["plugin", "list"], env);
    expect(listed.stdout).toContain(join(pluginDir, "kubectl-podid"));
    const plan = await run(KUBECTL, ["podid", ...DEMO_PLAN], env);
    expect(plan.code).toBe(0);
    expectGolden("plan-demo.txt", plan.stdout);
    const help = await run(KUBECTL, ["podid", "--help"], env);
    expect(help.stdout).toContain("Usage: kubectl podid [options] [command]");

    const world = await ExplainWorld.start();
    try {
      world.applyFile("examples/demo/identity.yaml");
      world.applyFile("examples/demo/binding.yaml");
      world.pod("default", "demo-app", { aadpodidbinding: "demo-kv-acess" }, world.node(1));
      const explained = await run(KUBECTL, ["podid", "explain", "pod", "demo-app", "-n", "default", "--kubeconfig", world.kubeconfig], env);
      expect(explained.stderr).toBe("");
      expect(explained.code, "a label typo is a problem verdict").toBe(2);
      expect(explained.stdout).toContain(
        "label typo: pod has aadpodidbinding=demo-kv-acess, binding default/demo-kv-reader-binding selects \"demo-kv-access\" (1 character off; selectors must match exactly) → kubectl label pod demo-app -n default aadpodidbinding=demo-kv-access --overwrite",
      );
    } finally {
      await world.close();
    }
  }, 60_000);
});
