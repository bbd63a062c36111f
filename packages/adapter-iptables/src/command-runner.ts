import { execFile } from "node:child_process";

/** How a command ended. */
export type CommandOutcome =
  | { readonly kind: "exited"; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  /** The binary does not exist (`ENOENT`) or cannot be executed. */
  | { readonly kind: "notFound"; readonly command: string; readonly message: string }
  /** Killed after the time limit (an iptables command stuck behind the xtables lock, a hung binary). */
  | { readonly kind: "timedOut"; readonly command: string; readonly timeoutMs: number; readonly stderr: string }
  /** Killed by a signal, or another spawn failure. */
  | { readonly kind: "failed"; readonly command: string; readonly message: string };

/** Runs a command with arguments (never through a shell), optionally feeding stdin. Never rejects. */
export interface CommandRunner {
  run(argv: readonly [string, ...string[]], options: { readonly input?: string; readonly timeoutMs: number }): Promise<CommandOutcome>;
}

/** Options of {@link ExecFileRunner}. */
export interface ExecFileRunnerOptions {
  /**
   * Prepended to every command, e.g. `["ip", "netns", "exec", "<ns>"]` to act on another network
   * namespace (the tests do this; NMI itself runs in the host namespace with no prefix).
   */
  readonly prefix?: readonly string[];
  /**
   * Extra environment for every command, on top of this process's (e.g. `XTABLES_LOCKFILE`, which the
   * iptables tools read to locate the xtables lock; the tests point it at a private file).
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** A {@link CommandRunner} on `child_process.execFile`: no shell, bounded by a SIGKILL timeout. */
export class ExecFileRunner implements CommandRunner {
  readonly #prefix: readonly string[];
  readonly #env: NodeJS.ProcessEnv | undefined;

  /** Creates a runner; see {@link ExecFileRunnerOptions}. */
  constructor(options: ExecFileRunnerOptions = {}) {
    this.#prefix = options.prefix ?? [];
    this.#env = options.env === undefined ? undefined : { ...process.env, ...options.env };
  }

  /** Runs `argv` (after the prefix). */
  run(argv: readonly [string, ...string[]], options: { readonly input?: string; readonly timeoutMs: number }): Promise<CommandOutcome> {
    const full = [...this.#prefix, ...argv];
    const [file, ...args] = full as [string, ...string[]];
    const command = argv.join(" ");
    return new Promise((resolve) => {
      let child: ReturnType<typeof execFile>;
      try {
        child = execFile(file, args, { timeout: options.timeoutMs, killSignal: "SIGKILL", maxBuffer: 256 * 1024 * 1024, encoding: "utf8", ...(this.#env === undefined ? {} : { env: this.#env }) }, (error, stdout, stderr) => {
          if (error === null) {
            resolve({ kind: "exited", exitCode: 0, stdout, stderr });
            return;
          }
          const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null };
          if (e.code === "ENOENT" || e.code === "EACCES") {
            resolve({ kind: "notFound", command, message: `${file}: ${e.code}` });
          } else if (typeof e.code === "number" && this.#prefix.length > 0 && /exec of ".*" failed: No such file or directory/.test(stderr)) {
            // `ip netns exec` reports a missing binary as exit 255 rather than ENOENT.
            resolve({ kind: "notFound", command, message: stderr.trim() });
          } else if (typeof e.code === "number") {
            resolve({ kind: "exited", exitCode: e.code, stdout, stderr });
          } else if (e.killed === true && e.signal === "SIGKILL") {
            resolve({ kind: "timedOut", command, timeoutMs: options.timeoutMs, stderr });
          } else {
            resolve({ kind: "failed", command, message: `${e.message}${stderr === "" ? "" : `: ${stderr.trim()}`}` });
          }
        });
      } catch (error) {
        resolve({ kind: "failed", command, message: error instanceof Error ? error.message : String(error) });
        return;
      }
      child.stdin?.on("error", () => {
        // The command may exit before reading stdin (EPIPE); its exit status is what matters.
      });
      child.stdin?.end(options.input ?? "");
    });
  }
}
