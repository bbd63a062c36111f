import { execFile } from "node:child_process";

/** What a finished (or killed) command produced. */
export interface CommandResult {
  /** Exit code, or `null` when the process was killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the command ran past its time limit and was killed. */
  readonly timedOut: boolean;
  /** Set when the command could not be started (e.g. `ENOENT`). */
  readonly spawnError?: string;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string;
  /** Hard limit; the command gets SIGKILL after it (default 10 s). */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs `argv` without a shell (so no argument is ever re-interpreted) and never rejects: failures are
 * described in the result. Every harness command is bounded by `timeoutMs`.
 */
export function runCommand(argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.resolve({ exitCode: null, signal: null, stdout: "", stderr: "", timedOut: false, spawnError: "empty command" });
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, encoding: "utf8", ...(options.env === undefined ? {} : { env: options.env }) },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ exitCode: 0, signal: null, stdout, stderr, timedOut: false });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (typeof code === "string" && child.pid === undefined) {
          resolve({ exitCode: null, signal: null, stdout, stderr, timedOut: false, spawnError: code });
          return;
        }
        const exitCode = typeof code === "number" ? code : null;
        const signal = (error as { signal?: NodeJS.Signals | null }).signal ?? null;
        resolve({ exitCode, signal, stdout, stderr, timedOut: (error as { killed?: boolean }).killed === true && signal === "SIGKILL" });
      },
    );
    child.stdin?.on("error", () => {
      // The command may exit before reading its input (EPIPE); its exit status tells the story.
    });
    child.stdin?.end(options.input ?? "");
  });
}

/** Throws with the command line, exit status and stderr unless `result` is a clean exit 0 (harness setup only). */
export function assertSucceeded(argv: readonly string[], result: CommandResult): CommandResult {
  if (result.exitCode === 0) return result;
  const why = result.spawnError ?? (result.timedOut ? "timed out" : `exit ${String(result.exitCode)}${result.signal === null ? "" : ` (${result.signal})`}`);
  throw new Error(`command failed (${why}): ${argv.join(" ")}\n${result.stderr.trim()}`);
}
