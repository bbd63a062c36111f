import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const node = join(repoRoot, "node_modules/.bin/node");
const cli = join(repoRoot, "harness/dist/demo/demo-main.js");

/** Builds every package (the demo runs the built MIC and NMI); a no-op when up to date. */
async function build(): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile(join(repoRoot, "node_modules/.bin/tsc"), ["-b"], { cwd: repoRoot, timeout: 240_000 }, (error, _out, err) =>
      error === null ? resolve() : reject(new Error(`tsc -b failed: ${err}`)),
    ),
  );
}

describe("the demo (npm run demo)", () => {
  it("runs the whole timeline: Created → PATCH → Assigned, a token naming the identity, then detach", async () => {
    await build();
    expect(existsSync(cli)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), "podid-demo-test-"));
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        let output = "";
        const child = spawn(node, [cli, "--kubeconfig", join(dir, "kubeconfig"), "--patch-latency-ms", "500"], { cwd: repoRoot });
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), 110_000);
        child.on("exit", (exitCode) => {
          clearTimeout(timer);
          resolve({ code: exitCode, output });
        });
      });
      expect(output, output).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Created");
      expect(output).toContain("ARM PATCH aks-demo-12345678-vmss");
      expect(output).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Assigned");
      expect(output).toMatch(/xms_mirid\s+\/subscriptions\/[^\n]*\/userAssignedIdentities\/demo-kv-reader/);
      expect(output).toMatch(/appid\s+6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11/);
      expect(output).toContain("identity detached from aks-demo-12345678-vmss");
      expect(output).toContain("demo finished");
      expect(code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 360_000);
});
