import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

/**
 * Child processes and probes of the load tests in this folder. Every child is ended by the test that
 * started it (stdin closed, then SIGKILL after a grace period); every wait is bounded.
 * @packageDocumentation
 */

/** The compiled sibling script `name` (the harness's `dist`). */
export function distScript(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url)).replace(/\/src\/nmi-load\//, "/dist/nmi-load/").replace(/\.ts$/, ".js");
}

/** A started child with its JSON stdout lines. */
export interface LoadChild {
  readonly child: ChildProcess;
  /** Resolves with the first JSON line matching `predicate` (bounded). */
  line<T>(predicate: (value: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T>;
  /** Ends it: stdin closed, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  stderr(): string;
}

/** Spawns `command args` and collects its JSON lines. */
export function startChild(command: string, args: readonly string[]): LoadChild {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let stderr = "";
  let exited = false;
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c.slice(0, 10_000)));
  createInterface({ input: child.stdout! }).on("line", (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
      for (const w of waiters.splice(0)) w();
    } catch {
      // not ours
    }
  });
  child.once("exit", () => {
    exited = true;
    for (const w of waiters.splice(0)) w();
  });
  return {
    child,
    stderr: () => stderr,
    line: <T>(predicate: (value: Record<string, unknown>) => boolean, timeoutMs: number) =>
      new Promise<T>((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = (): void => {
          const found = lines.find(predicate);
          if (found !== undefined) return resolve(found as T);
          if (exited) return reject(new Error(`${command} exited before the expected line; stderr: ${stderr}`));
          if (Date.now() > deadline) return reject(new Error(`${command}: no expected line within ${String(timeoutMs)} ms; stderr: ${stderr}`));
          waiters.push(check);
          setTimeout(check, Math.max(0, deadline - Date.now()) + 5).unref();
        };
        check();
      }),
    stop: async (graceMs = 5_000) => {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}

/** One GET, bounded by `timeoutMs`: its status (0 on error or timeout), what went wrong, and how long it took. */
export function timedGet(
  port: number,
  path: string,
  options: { readonly localAddress?: string; readonly headers?: Record<string, string>; readonly timeoutMs: number },
): Promise<{ status: number; ms: number; error?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number, error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ status, ms: Math.round(performance.now() - started), ...(error !== undefined ? { error } : {}) });
    };
    const req = request(
      { host: "127.0.0.1", port, path, agent: false, headers: options.headers ?? {}, ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}) },
      (res) => {
        res.resume();
        res.on("end", () => finish(res.statusCode ?? 0));
        res.on("error", (e) => finish(0, e.message));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(0, "timeout");
    }, options.timeoutMs);
    req.on("error", (e: Error & { code?: string }) => finish(0, e.code ?? e.message));
    req.end();
  });
}
