/**
 * The built `podid-sim` CLI end to end: a real process (`node dist/cli/podid-sim.js`, the file the package's
 * `bin` and the root `npm run sim` script run), started the way a newcomer would, used with plain kubectl,
 * then stopped with SIGTERM and expected to exit 0.
 *
 * Robust build: beforeAll runs `tsc -b packages/testkit` (testkit and core only, so unrelated packages cannot
 * break it; a no-op when `npm test` already built everything) and then checks that the dist entry exists
 * rather than trusting tsc's exit code, because tsc emits JavaScript even when some other file in the
 * project has a type error.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const NODE = join(ROOT, "node_modules", ".bin", "node");
const TSC = join(ROOT, "node_modules", ".bin", "tsc");
const CLI = join(ROOT, "packages", "testkit", "dist", "cli", "podid-sim.js");
const CRDS = join(ROOT, "deploy", "crds.yaml");
const KUBECTL = process.env["PODID_KUBECTL"] ?? "kubectl";
const kubectlAvailable = spawnSync(KUBECTL, ["version", "--client"], { timeout: 20_000 }).status === 0;

let dir = "";

function kubectl(args: readonly string[], kubeconfig: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), ...args], { timeout: 20_000, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

interface Running {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startCli(args: readonly string[]): Running {
  const child = spawn(NODE, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitForOutput(run: Running, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.output())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; output so far:\n${run.output()}`);
    if (run.child.exitCode !== null) throw new Error(`podid-sim exited early (${run.child.exitCode}):\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("podid-sim up", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "podid-sim-"));
    spawnSync(TSC, ["-b", join(ROOT, "packages", "testkit")], { cwd: ROOT, timeout: 120_000 });
    if (!existsSync(CLI)) throw new Error(`${CLI} was not built`);
  }, 130_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts with a shebang'd entry, pre-applies the CRDs, serves kubectl, and exits 0 on SIGTERM", async () => {
    expect(readFileSync(CLI, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const kubeconfig = join(dir, "k");
    const run = startCli(["up", "--kubeconfig", kubeconfig, "--crds", CRDS]);
    try {
      await waitForOutput(run, /ready; try: kubectl/);
      expect(run.output()).toMatch(/kube-apiserver listening on http:\/\/127\.0\.0\.1:\d+/);
      expect(run.output()).toContain("customresourcedefinition/azureidentities.aadpodidentity.k8s.io created");
      expect(existsSync(kubeconfig)).toBe(true);
      const url = /listening on (\S+)/.exec(run.output())?.[1] ?? "";
      const served = (await (await fetch(`${url}/apis/aadpodidentity.k8s.io/v1`)).json()) as { resources: { name: string }[] };
      expect(served.resources.map((r) => r.name)).toContain("azureidentities");
      if (kubectlAvailable) {
        const applied = await kubectl(["apply", "-f", CRDS], kubeconfig);
        expect(applied.code, applied.stderr).toBe(0);
        // Pre-applied CRDs lack kubectl's last-applied annotation, so kubectl reports them "configured".
        expect(applied.stdout.match(/ (configured|unchanged)/g)).toHaveLength(4);
        const listed = await kubectl(["get", "azureidentities", "-A"], kubeconfig);
        expect(listed.code, listed.stderr).toBe(0);
        expect(listed.stderr).toContain("No resources found");
      }
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain("SIGTERM received, stopping");
  }, 30_000);

  it.skipIf(!kubectlAvailable)("with --token serves https so that kubectl sends the token; a wrong token is refused", async () => {
    const kubeconfig = join(dir, "k-token");
    const run = startCli(["up", "--kubeconfig", kubeconfig, "--token", "sim-token", "--namespace", "apps"]);
    try {
      await waitForOutput(run, /ready; try: kubectl/);
      expect(run.output()).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+ \(bearer token required\)/);
      const created = await kubectl(["create", "namespace", "apps"], kubeconfig);
      expect(created.code, created.stderr).toBe(0);
      const cm = await kubectl(["create", "configmap", "c", "--from-literal=a=b"], kubeconfig);
      expect(cm.code, cm.stderr).toBe(0);
      expect((await kubectl(["get", "configmap", "c", "-o", "jsonpath={.metadata.namespace}"], kubeconfig)).stdout).toBe("apps");
      const wrong = join(dir, "k-wrong");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(wrong, readFileSync(kubeconfig, "utf8").replace("sim-token", "nope"));
      expect((await kubectl(["get", "pods"], wrong)).code).not.toBe(0);
    } finally {
      run.child.kill("SIGINT");
    }
    expect(await run.exited).toBe(0);
  }, 30_000);

  it("exits non-zero with a message when the port is taken", async () => {
    const first = startCli(["up", "--kubeconfig", join(dir, "k1")]);
    try {
      await waitForOutput(first, /ready/);
      const port = /127\.0\.0\.1:(\d+)/.exec(first.output())?.[1] ?? "";
      const second = startCli(["up", "--kubeconfig", join(dir, "k2"), "--port", port]);
      expect(await second.exited).toBe(1);
      expect(second.output()).toContain("failed to start");
    } finally {
      first.child.kill("SIGTERM");
    }
    expect(await first.exited).toBe(0);
  }, 30_000);
});
