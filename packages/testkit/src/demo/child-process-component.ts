/**
 * A podid deployable (MIC or NMI) run as a child process of `podid-sim demo` (or of a harness test), exactly as
 * it runs in a cluster: its own process, flags, kubeconfig and probe port. Its JSON log lines go to `onLog`.
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { ClusterComponent } from "../cli/embedded-cluster.js";

/** Options of {@link startChildProcess}. */
export interface ChildProcessOptions {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /**
   * Whether the child also gets this process's environment under `env` (default true). False: only `PATH` and
   * `env`, so nothing of the test runner's environment reaches the deployable.
   */
  readonly inheritEnvironment?: boolean;
  /** URL that answers 200 once the process is up (its `/healthz`). */
  readonly healthUrl: string;
  /** Longest wait for the health URL. */
  readonly startTimeoutMs: number;
  /** Called with each parsed JSON log line. */
  readonly onLog?: (line: Record<string, unknown>) => void;
}

/** A running child process. */
export interface ChildProcessComponent extends ClusterComponent {
  readonly process: ChildProcess;
  /** The last lines it wrote to stderr (for error reports). */
  readonly stderrTail: () => string;
}

/** Spawns the process with the same Node binary and waits until its health URL answers. */
export async function startChildProcess(options: ChildProcessOptions): Promise<ChildProcessComponent> {
  const child = spawn(process.execPath, [options.script, ...options.args], {
    env: options.inheritEnvironment === false ? { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...options.env } : { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  if (child.stdout !== null) {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => {
      try {
        options.onLog?.(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a JSON log line: ignore.
      }
    });
  }
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + options.startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with code ${child.exitCode}: ${stderr.trim()}`);
    try {
      const response = await fetch(options.healthUrl, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} did not become healthy within ${options.startTimeoutMs} ms: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name: options.name,
    process: child,
    stderrTail: () => stderr,
    describe: () => [`${options.name} (pid ${child.pid ?? "?"}), health on ${options.healthUrl}`],
    stop,
  };
}
