import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * podid's images run as containers: podman with podid's own storage and runc (`scripts/images/podman.sh`),
 * images built by `scripts/images/build-images.sh` (docs/adr/0012-container-images.md).
 * @packageDocumentation
 */

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PODMAN = join(ROOT, "scripts/images/podman.sh");
const BUILD = join(ROOT, "scripts/images/build-images.sh");
/** The image tags build-images.sh produces. */
export const MIC_IMAGE = "podid/mic:latest";
export const NMI_IMAGE = "podid/nmi:latest";
/** runc cannot raise these limits on the CI machines; every `podman run` lowers them. */
export const RUN_LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"] as const;

/** Whether containers can run here, and why not. */
export type PodmanSupport = { readonly supported: true } | { readonly supported: false; readonly reason: string };

/** Containers need root (own storage, network namespaces), podman and runc. */
export function podmanSupport(): PodmanSupport {
  if (process.getuid?.() !== 0) return { supported: false, reason: "not running as root" };
  for (const tool of ["podman", "runc"]) {
    const probe = spawnSync(tool, ["--version"], { encoding: "utf8", timeout: 10_000 });
    if (probe.status !== 0) return { supported: false, reason: `${tool} is not installed (apt-get install podman runc; .ci/run installs it)` };
  }
  return { supported: true };
}

/** One finished podman command. */
export interface PodmanResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `podman <args>` with podid's storage (bounded; never rejects). */
export function podman(args: readonly string[], timeoutMs = 60_000): Promise<PodmanResult> {
  return new Promise((resolve) => {
    const child = spawn(PODMAN, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `podman <args>` and throws with its output unless it exits 0; returns stdout. */
export async function podmanOrThrow(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const result = await podman(args, timeoutMs);
  if (result.code !== 0) throw new Error(`podman ${args.join(" ")} exited ${String(result.code)}: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * Makes sure both images exist: builds them with build-images.sh when either is missing (`.ci/run` builds
 * them before the tests, so there this only checks). Rebuild after source changes with `npm run images`.
 */
export async function ensureImages(): Promise<void> {
  const present = await Promise.all([MIC_IMAGE, NMI_IMAGE].map(async (image) => (await podman(["image", "exists", image])).code === 0));
  if (present.every(Boolean)) return;
  if (!existsSync(BUILD)) throw new Error(`${BUILD} is missing`);
  const result = spawnSync("bash", [BUILD], { cwd: ROOT, encoding: "utf8", timeout: 15 * 60_000 });
  if (result.status !== 0) throw new Error(`building the images failed (exit ${String(result.status ?? result.signal)}):\n${result.stdout}${result.stderr}`);
}

/** A parsed JSON log line of a daemon. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg?: string };

/**
 * A container started with `podman run` in the foreground, so its stdout (the daemon's JSON log) streams into
 * the test. {@link remove} (idempotent) force-removes it; call it in `afterAll`.
 */
export class Container {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #lines: LogLine[] = [];
  #stderr = "";
  #exit: number | null | undefined;
  readonly exited: Promise<number | null>;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#child = child;
    if (child.stdout !== null) {
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => {
        if (!line.startsWith("{")) return;
        try {
          this.#lines.push(JSON.parse(line) as LogLine);
        } catch {
          // Not a log line.
        }
      });
    }
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.#stderr += chunk));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        this.#exit = code;
        resolve(code);
      }),
    );
  }

  /** `podman run --name <name> <runArgs> <image> <args>` (plus {@link RUN_LIMITS}), attached. */
  static run(name: string, runArgs: readonly string[], image: string, args: readonly string[]): Container {
    const child = spawn(PODMAN, ["run", "--name", name, ...RUN_LIMITS, ...runArgs, image, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    return new Container(name, child);
  }

  /** Log lines so far. */
  get lines(): readonly LogLine[] {
    return this.#lines;
  }

  /** podman's and the daemon's stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Waits (bounded) for a log line matching `predicate`; fails early when the container ends first. */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#lines.find(predicate);
      if (found !== undefined) return found;
      const tail = (): string => `last messages: ${this.#lines.slice(-5).map((l) => l.msg ?? "").join(" | ")}; stderr: ${this.#stderr.trim().slice(-2000)}`;
      if (this.#exit !== undefined) throw new Error(`container ${this.name} exited (${String(this.#exit)}) before the expected log line; ${tail()}`);
      if (Date.now() > deadline) throw new Error(`container ${this.name} did not log the expected line within ${String(timeoutMs)} ms; ${tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Force-removes the container (idempotent) and waits for the attached `podman run` to end. */
  async remove(): Promise<void> {
    await podman(["rm", "-f", "-t", "0", this.name]);
    if (this.#exit === undefined) {
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
