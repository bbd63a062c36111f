/** Runs the built `podid-kv` bin as kubelet would: argv, environment, stdout JSON, exit code. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The launcher npm links as `podid-kv`. */
export const PODID_KV_BIN = fileURLToPath(new URL("../../bin/podid-kv.mjs", import.meta.url));

/** One call's outcome. */
export interface PodidKvRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed (kubelet's view); `undefined` when it is not JSON. */
  readonly status: Record<string, unknown> | undefined;
}

/** Runs `podid-kv <args>` with `env` (not this process's environment beyond PATH and HOME). */
export function runPodidKv(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 60_000): Promise<PodidKvRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PODID_KV_BIN, ...args],
      { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: process.env["HOME"] ?? "/tmp", ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        let status: Record<string, unknown> | undefined;
        try {
          status = JSON.parse(stdout) as Record<string, unknown>;
        } catch {
          status = undefined;
        }
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr, status });
      },
    );
  });
}
