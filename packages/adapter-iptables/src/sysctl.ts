import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { err, ok, type Result } from "@podid/core";
import type { CommandRunner } from "./command-runner.js";

/** Reads and writes kernel parameters (`net/ipv4/conf/all/route_localnet`, slash-separated). */
export interface SysctlAccess {
  read(key: string): Promise<Result<string, string>>;
  write(key: string, value: string): Promise<Result<void, string>>;
}

function checkKey(key: string): string | undefined {
  return /^[a-z0-9_]+(\/[a-z0-9_.-]+)+$/.test(key) && !key.includes("..") ? undefined : `invalid sysctl key ${JSON.stringify(key)}`;
}

/**
 * `/proc/sys` of the calling process. Network sysctls there belong to the process's own network
 * namespace, which for NMI (hostNetwork) is the node's. `root` is replaceable for tests.
 */
export class ProcSysctl implements SysctlAccess {
  readonly #root: string;

  /** Uses `/proc/sys` unless `root` is given. */
  constructor(root = "/proc/sys") {
    this.#root = root;
  }

  /** Reads the trimmed value. */
  async read(key: string): Promise<Result<string, string>> {
    const bad = checkKey(key);
    if (bad !== undefined) return err(bad);
    try {
      return ok((await readFile(join(this.#root, key), "utf8")).trim());
    } catch (error) {
      return err(`cannot read ${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Writes `value`. */
  async write(key: string, value: string): Promise<Result<void, string>> {
    const bad = checkKey(key);
    if (bad !== undefined) return err(bad);
    try {
      await writeFile(join(this.#root, key), value);
      return ok(undefined);
    } catch (error) {
      return err(`cannot write ${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

const SCRIPT = `const fs = require("node:fs"); const [k, v] = process.argv.slice(1); const p = "/proc/sys/" + k; if (v === undefined) process.stdout.write(fs.readFileSync(p, "utf8")); else fs.writeFileSync(p, v);`;

/**
 * `/proc/sys` of whatever namespace `runner` executes in (e.g. `ip netns exec <ns>`), read and written
 * by a one-line script on `node` (the current binary by default), so no `sysctl` binary is needed.
 */
export class RunnerSysctl implements SysctlAccess {
  readonly #runner: CommandRunner;
  readonly #node: string;
  readonly #timeoutMs: number;

  /** Acts through `runner`; `nodeBinary` defaults to `process.execPath`. */
  constructor(runner: CommandRunner, options: { readonly nodeBinary?: string; readonly timeoutMs?: number } = {}) {
    this.#runner = runner;
    this.#node = options.nodeBinary ?? process.execPath;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Reads the trimmed value. */
  async read(key: string): Promise<Result<string, string>> {
    const bad = checkKey(key);
    if (bad !== undefined) return err(bad);
    const outcome = await this.#runner.run([this.#node, "-e", SCRIPT, key], { timeoutMs: this.#timeoutMs });
    return outcome.kind === "exited" && outcome.exitCode === 0 ? ok(outcome.stdout.trim()) : err(`cannot read ${key}: ${describe(outcome)}`);
  }

  /** Writes `value`. */
  async write(key: string, value: string): Promise<Result<void, string>> {
    const bad = checkKey(key);
    if (bad !== undefined) return err(bad);
    const outcome = await this.#runner.run([this.#node, "-e", SCRIPT, key, value], { timeoutMs: this.#timeoutMs });
    return outcome.kind === "exited" && outcome.exitCode === 0 ? ok(undefined) : err(`cannot write ${key}: ${describe(outcome)}`);
  }
}

function describe(outcome: Awaited<ReturnType<CommandRunner["run"]>>): string {
  switch (outcome.kind) {
    case "exited":
      return `exit ${String(outcome.exitCode)}: ${outcome.stderr.trim()}`;
    case "timedOut":
      return `timed out after ${String(outcome.timeoutMs)} ms`;
    case "notFound":
    case "failed":
      return outcome.message;
  }
}
