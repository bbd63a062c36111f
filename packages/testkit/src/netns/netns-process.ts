import { spawn, type ChildProcess } from "node:child_process";

/** How a spawned process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Every live process the harness spawned, so an exit hook can kill what a failed test left behind. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
  });
}

/**
 * A long-running process inside a namespace (a stand-in server, NMI). Its stdout is split into lines
 * that tests can wait for; `stop` signals it and waits (bounded) for the exit.
 */
export class NetnsProcess {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #stderr: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #exited: Promise<ProcessExit>;
  #exit: ProcessExit | undefined;

  /** Spawns `argv` (no shell). Prefer `NetnsHandle.spawn`, which prefixes `ip netns exec`. */
  constructor(argv: readonly string[], env?: NodeJS.ProcessEnv) {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error("empty command");
    installExitHook();
    this.#child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], ...(env === undefined ? {} : { env }) });
    live.add(this.#child);
    let pending = "";
    this.#child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      this.#lines.push(...parts);
      for (const wake of [...this.#waiters]) wake();
    });
    this.#child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr.push(chunk);
    });
    this.#exited = new Promise((resolve) => {
      const done = (exit: ProcessExit): void => {
        if (this.#exit !== undefined) return;
        this.#exit = exit;
        live.delete(this.#child);
        for (const wake of [...this.#waiters]) wake();
        resolve(exit);
      };
      this.#child.once("exit", (code, signal) => done({ code, signal }));
      this.#child.once("error", () => done({ code: null, signal: null }));
    });
  }

  /** The process id (`ip netns exec` execs the command, so this is the command itself). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Stdout lines so far. */
  lines(): readonly string[] {
    return [...this.#lines];
  }

  /** Stderr so far (for failure messages). */
  stderr(): string {
    return this.#stderr.join("");
  }

  /** The exit, once it happened. */
  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  /** Resolves with the exit. */
  exited(): Promise<ProcessExit> {
    return this.#exited;
  }

  /** Resolves with the first stdout line (new or old) matching `predicate`; rejects on exit or after `timeoutMs`. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.#lines.find(predicate);
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (this.#exit !== undefined) {
          finish();
          reject(new Error(`process exited (${String(this.#exit.code ?? this.#exit.signal)}) before the expected line; stderr: ${this.stderr().trim()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching line within ${String(timeoutMs)} ms; stdout: ${this.#lines.join(" | ")}; stderr: ${this.stderr().trim()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` (default SIGTERM) and waits up to `graceMs` for the exit, then SIGKILLs and waits again. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 3_000): Promise<ProcessExit> {
    if (this.#exit !== undefined) return this.#exit;
    this.#child.kill(signal);
    const timedOut = Symbol("timeout");
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([this.#exited, new Promise<typeof timedOut>((resolve) => (timer = setTimeout(() => resolve(timedOut), graceMs)))]);
    clearTimeout(timer);
    if (first !== timedOut) return first;
    this.#child.kill("SIGKILL");
    return this.#exited;
  }
}
