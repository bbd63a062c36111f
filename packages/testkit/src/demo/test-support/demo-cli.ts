import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `podid-sim demo` as `npm run demo` runs it, for the demo tests: the built CLI in its own process with the
 * workspace's built MIC, NMI and `podid-kv`.
 * @packageDocumentation
 */

const ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));
const NODE = join(ROOT, "node_modules", ".bin", "node");
/** The built `podid-sim` entry point. */
export const DEMO_CLI = join(ROOT, "packages", "testkit", "dist", "cli", "podid-sim.js");

/**
 * Runs `tsc -b` for testkit, mic-runner, nmi-server and kv-flexvolume (a no-op after `npm test`'s build). Its exit
 * code is not trusted: {@link runDemoCli} checks the entry exists instead.
 */
export function buildDemoPackages(): void {
  spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-b", "packages/testkit", "packages/mic-runner", "packages/nmi-server", "packages/kv-flexvolume"], { cwd: ROOT, timeout: 240_000 });
}

/** Runs `podid-sim demo <args>` in `cwd` until it exits (killed after 110 s); its stdout and stderr together. */
export async function runDemoCli(args: readonly string[], cwd: string): Promise<{ readonly code: number | null; readonly output: string }> {
  if (!existsSync(DEMO_CLI)) throw new Error(`${DEMO_CLI} is missing (tsc -b failed?)`);
  return new Promise((resolve) => {
    let output = "";
    const child = spawn(NODE, [DEMO_CLI, "demo", ...args], { cwd });
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 110_000);
    child.on("exit", (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, output });
    });
  });
}
