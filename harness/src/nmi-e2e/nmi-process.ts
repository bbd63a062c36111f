import type { NetnsHandle, NetnsProcess, ProcessExit } from "@podid/testkit";

/**
 * The real `podid-nmi` (`node packages/nmi-server/dist/main.js`, what the image runs) as a child process
 * inside a node namespace, with its JSON log lines parsed so tests can wait for what it says.
 * @packageDocumentation
 */

/** One parsed pino line. */
export type NmiLogLine = Readonly<Record<string, unknown>> & { readonly msg?: string; readonly level?: string; readonly time?: string };

/** When a log line was written (epoch ms; NMI logs ISO timestamps), `NaN` when it has none. */
export function loggedAt(line: NmiLogLine | undefined): number {
  return line?.time === undefined ? Number.NaN : Date.parse(line.time);
}

/** The log line NMI prints once its rules are installed (it then serves redirected pod traffic). */
export const NMI_READY_MESSAGE = "metadata interception installed";

/** A running (or ended) NMI process. */
export class NmiProcess {
  readonly #proc: NetnsProcess;
  readonly #parsed: NmiLogLine[] = [];
  #seen = 0;
  /** The flags it was started with. */
  readonly args: readonly string[];

  private constructor(proc: NetnsProcess, args: readonly string[]) {
    this.#proc = proc;
    this.args = args;
  }

  /**
   * Starts `node <main> <args>` in `ns` with an environment holding only `PATH` and `options.env` (e.g.
   * `HOST_IP`; no `KUBECONFIG`, no proxy variables, nothing Azure), and waits (bounded) until it logs
   * {@link NMI_READY_MESSAGE}.
   */
  static async start(ns: NetnsHandle, main: string, args: readonly string[], options: { readonly env?: Readonly<Record<string, string>>; readonly timeoutMs?: number } = {}): Promise<NmiProcess> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const proc = ns.spawn([process.execPath, main, ...args], { ...options.env, PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" });
    const nmi = new NmiProcess(proc, args);
    try {
      await nmi.waitForLog((l) => l.msg === NMI_READY_MESSAGE, 1, timeoutMs);
    } catch (error) {
      await proc.stop("SIGKILL");
      throw error;
    }
    return nmi;
  }

  /** The process id (the node process itself: `ip netns exec` execs it). */
  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /** The exit, once it happened. */
  get exit(): ProcessExit | undefined {
    return this.#proc.exit;
  }

  /** Every JSON log line so far (other stdout lines are skipped). */
  logs(): readonly NmiLogLine[] {
    const lines = this.#proc.lines();
    for (; this.#seen < lines.length; this.#seen++) {
      const line = lines[this.#seen] ?? "";
      if (!line.startsWith("{")) continue;
      try {
        this.#parsed.push(JSON.parse(line) as NmiLogLine);
      } catch {
        // A foreign line.
      }
    }
    return this.#parsed;
  }

  /** The log lines matching `predicate`. */
  logged(predicate: (line: NmiLogLine) => boolean): readonly NmiLogLine[] {
    return this.logs().filter(predicate);
  }

  /** Waits (bounded) until at least `count` log lines match `predicate`; resolves with them. */
  async waitForLog(predicate: (line: NmiLogLine) => boolean, count = 1, timeoutMs = 10_000): Promise<readonly NmiLogLine[]> {
    const deadline = Date.now() + timeoutMs;
    let exitSeenAt: number | undefined;
    for (;;) {
      const found = this.logged(predicate);
      if (found.length >= count) return found;
      // Stdout may still be draining when the exit is reported: give it a moment before giving up.
      const exit = this.#proc.exit;
      if (exit !== undefined) exitSeenAt ??= Date.now();
      if (exit !== undefined && exitSeenAt !== undefined && Date.now() - exitSeenAt > 300) {
        throw new Error(`NMI exited (${String(exit.code ?? exit.signal)}) before the expected log line; stderr: ${this.stderr().trim()}`);
      }
      if (Date.now() > deadline) {
        const tail = this.logs().slice(-5).map((l) => l.msg ?? "");
        throw new Error(`NMI did not log the expected line within ${String(timeoutMs)} ms; last messages: ${tail.join(" | ")}; stderr: ${this.stderr().trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stderr so far. */
  stderr(): string {
    return this.#proc.stderr();
  }

  /** Signals the process and waits for its exit (SIGKILL after `graceMs`). */
  stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<ProcessExit> {
    return this.#proc.stop(signal, graceMs);
  }
}
