import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { until, type SystemWorld } from "./system-world.js";

/**
 * `podid-mic` as a real child process (`node packages/mic-runner/dist/main.js`), for the tests that must
 * kill it (`SIGKILL`) or stop it with a signal. The children inherit `NODE_EXTRA_CA_CERTS` from the
 * vitest global setup, so they trust the HTTPS fakes like any other client.
 *
 * The entry point is the compiled one, exactly what the image runs. `npm test` (and CI) run `tsc -b`
 * before vitest; when the tests run alone after a source edit, {@link ensureBuilt} rebuilds the four
 * packages MIC is made of first, so a stale `dist` is never tested by mistake.
 * @packageDocumentation
 */

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
/** The compiled `podid-mic` entry point. */
export const MIC_MAIN = join(ROOT, "packages/mic-runner/dist/main.js");
const SOURCES = ["core", "adapter-k8s", "adapter-azure", "daemon-shell", "mic-runner"].map((p) => join(ROOT, "packages", p, "src"));

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Makes sure `dist/` is built from the current sources: when any source file of MIC's packages is newer
 * than `dist/main.js`, runs `tsc -b packages/mic-runner` (incremental; bounded to 3 minutes). `tsc -b`
 * leaves unchanged outputs untouched, so its success — not the entry point's time stamp — says the build
 * is current; with type errors elsewhere it still emits, so an existing entry point is used then too.
 */
export function ensureBuilt(): void {
  if (existsSync(MIC_MAIN) && statSync(MIC_MAIN).mtimeMs >= Math.max(...SOURCES.map(newestSourceMs))) return;
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  const result = spawnSync(tsc, ["-b", join(ROOT, "packages/mic-runner/tsconfig.json")], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
  if (!existsSync(MIC_MAIN)) throw new Error(`podid-mic is not built and tsc -b failed:\n${result.stdout}${result.stderr}`);
  if (result.status !== 0) process.stderr.write(`tsc -b packages/mic-runner reported errors (running the emitted build anyway):\n${result.stdout}\n`);
}

/** A parsed pino line of a child. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg?: string };

/** One `podid-mic` process. */
export class ChildMic {
  readonly name: string;
  readonly process: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  /** Resolves with the exit code and signal once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #probeUrl: string | undefined;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.process = child;
    if (child.stdout !== null) {
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => {
        try {
          const parsed = JSON.parse(line) as LogLine;
          this.lines.push(parsed);
          if (parsed.msg === "probe and metrics servers listening") this.#probeUrl = `http://127.0.0.1:${String(parsed["probePort"])}`;
        } catch {
          this.stderr.push(`(stdout) ${line}`);
        }
        if (process.env["PODID_TEST_LOGS"] !== undefined) process.stderr.write(`[${name}] ${line}\n`);
      });
    }
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Spawns `node dist/main.js <args>` and waits until its probe server listens. */
  static async start(name: string, args: readonly string[]): Promise<ChildMic> {
    const child = spawn(process.execPath, [MIC_MAIN, ...args, "--log-level=info"], {
      cwd: ROOT,
      env: { ...process.env, HOSTNAME: name },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const mic = new ChildMic(name, child);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void mic.exited.then((e) => (exit = e));
    await until(`${name} listening`, () => {
      if (exit !== undefined) throw new Error(`${name} exited (${JSON.stringify(exit)}) before listening: ${mic.stderr.join("")}`);
      return mic.#probeUrl !== undefined;
    }, 15_000);
    return mic;
  }

  /** Base URL of its probe server. */
  get probeUrl(): string {
    if (this.#probeUrl === undefined) throw new Error(`${this.name} is not listening`);
    return this.#probeUrl;
  }

  /** The `/healthz` body (`Active` / `Not Active`), or `undefined` when the process does not answer. */
  async healthz(): Promise<string | undefined> {
    try {
      const response = await fetch(`${this.probeUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
      return await response.text();
    } catch {
      return undefined;
    }
  }

  /** True once it logged `msg`. */
  logged(msg: string): boolean {
    return this.lines.some((line) => line.msg === msg);
  }

  /** Sends `signal` (default SIGKILL: no shutdown code runs at all) and waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited;
  }
}

/** The child MICs of one test file: spawned against a world, killed together after each test. */
export class ChildMics {
  readonly #children: ChildMic[] = [];

  /** Spawns `podid-mic` with the world's test flags (plus `extra`). */
  async spawn(w: SystemWorld, name: string, extra: readonly string[] = []): Promise<ChildMic> {
    const child = await ChildMic.start(name, w.micArgs(name, extra));
    this.#children.push(child);
    return child;
  }

  /** Starts two MICs and returns them as `[leader, standby]` once one is Active. */
  async pair(w: SystemWorld, extra: readonly string[] = []): Promise<[ChildMic, ChildMic]> {
    const a = await this.spawn(w, "mic-a", extra);
    const b = await this.spawn(w, "mic-b", extra);
    await until("one MIC Active", async () => (await a.healthz()) === "Active" || (await b.healthz()) === "Active", 10_000);
    return (await a.healthz()) === "Active" ? [a, b] : [b, a];
  }

  /** SIGKILLs every child still running. */
  async killAll(): Promise<void> {
    await Promise.all(this.#children.splice(0).map((child) => child.kill()));
  }
}

/** The holder of MIC's Lease as stored in the fake API server. */
export function leaseHolder(w: SystemWorld): string | undefined {
  return (w.kube.store.get("leases.coordination.k8s.io", "aad-pod-identity-mic", "default")?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity;
}
