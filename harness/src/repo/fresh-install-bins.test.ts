/**
 * A newcomer's first minutes: a copy of the repository (the files git tracks or would track, as they are now)
 * gets `npm ci` and nothing else, and then every workspace bin answers `--help` / `--version` through `npx`, as
 * the README tells. On a Node.js older than the packages' `engines`, each bin prints one line naming the
 * required version and exits 2, without a stack trace.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BINS = [
  { bin: "podid", args: ["--help"], expect: /explain/ },
  { bin: "podid", args: ["--version"], expect: /^podid \d+\.\d+\.\d+\n$/ },
  { bin: "kubectl-podid", args: ["--help"], expect: /explain/ },
  { bin: "podid-mic", args: ["--version"], expect: /\d+\.\d+\.\d+/ },
  { bin: "podid-nmi", args: ["--version"], expect: /\d+\.\d+\.\d+/ },
  { bin: "podid-kv", args: ["--version"], expect: /^podid-kv \d+\.\d+\.\d+/ },
  { bin: "podid-kv", args: ["init"], expect: /^\{"status":"Success","capabilities":\{"attach":false\}\}/ },
  { bin: "podid-sim", args: ["--help"], expect: /up/ },
] as const;
const LAUNCHERS: Readonly<Record<string, string>> = {
  podid: "packages/cli/bin/podid.mjs",
  "kubectl-podid": "packages/cli/bin/kubectl-podid.mjs",
  "podid-mic": "packages/mic-runner/bin/podid-mic.mjs",
  "podid-nmi": "packages/nmi-server/bin/podid-nmi.mjs",
  "podid-kv": "packages/kv-flexvolume/bin/podid-kv.mjs",
  "podid-sim": "packages/testkit/bin/podid-sim.mjs",
};

let copy = "";

/**
 * A user's shell: not the test CA the vitest global setup puts in NODE_EXTRA_CA_CERTS (npm would then fail to reach
 * the registry for anything its cache lacks, as for a dependency added since the cache was filled), but the system
 * bundle when there is one.
 */
const USER_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== "NODE_EXTRA_CA_CERTS")),
  ...(process.env["SSL_CERT_FILE"] === undefined ? {} : { NODE_EXTRA_CA_CERTS: process.env["SSL_CERT_FILE"] }),
  npm_config_update_notifier: "false",
};

function run(command: string, args: readonly string[], cwd: string, timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd, timeout, encoding: "utf8", env: USER_ENV }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }),
    );
  });
}

/** The first `node` on the system PATH (not the project's) older than 22.19, if there is one. */
function oldNode(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v -p node || true"], { encoding: "utf8" }).stdout.trim();
  for (const candidate of [found, "/usr/bin/node", "/usr/local/bin/node"].filter((p) => p !== "")) {
    const version = spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout.trim();
    const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
    if (version !== "" && (major < 22 || (major === 22 && minor < 19))) return candidate;
  }
  return undefined;
}

beforeAll(async () => {
  copy = mkdtempSync(join(tmpdir(), "podid-fresh-"));
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter((f) => f !== "");
  for (const file of files) {
    const target = join(copy, file);
    mkdirSync(dirname(target), { recursive: true });
    try {
      cpSync(join(ROOT, file), target);
    } catch {
      // A file deleted in the working tree but still tracked: a fresh clone of this state would not have it either.
    }
  }
  const install = await run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], copy, 300_000);
  if (install.code !== 0) throw new Error(`npm ci failed in ${copy}:\n${install.stdout}${install.stderr}`);
}, 330_000);

afterAll(() => {
  if (copy !== "") rmSync(copy, { recursive: true, force: true });
}, 120_000); // a whole node_modules: beyond the 10 s hook default on a loaded machine

describe("right after npm ci in a fresh copy of the repository", () => {
  it.each(BINS)("npx $bin $args answers", async ({ bin, args, expect: pattern }) => {
    const result = await run("npx", ["--no-install", bin, ...args], copy);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(pattern);
  }, 60_000);

  const node = oldNode();
  it.skipIf(node === undefined)("on an older Node.js every bin prints one line naming the required version and exits 2", async () => {
    for (const [bin, launcher] of Object.entries(LAUNCHERS)) {
      const result = await run(node ?? "node", [join(copy, launcher), "--help"], copy);
      expect(result.code, bin).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr.trim().split("\n"), bin).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`^${bin}: needs Node\\.js >= 22\\.19, found v`));
    }
  }, 60_000);
});
