/**
 * Runs the `podid` program in-process with captured output, for the CLI tests.
 * @packageDocumentation
 */
import { fileURLToPath } from "node:url";
import type { ComputePort } from "@podid/core";
import { runPodid, type PodidDeps } from "../program.js";

/** The repository root (where `examples/` and `deploy/` are). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** What one run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  readonly cwd?: string;
  readonly stdin?: string;
  readonly nowMs?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly openCompute?: (path: string) => Promise<ComputePort>;
  readonly name?: string;
}

/** A fixed "now" for golden output (2024-05-01T12:00:00Z). */
export const FIXED_NOW_MS = Date.parse("2024-05-01T12:00:00Z");

/** Runs `podid <argv…>` and captures stdout, stderr and the exit code. */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const deps: PodidDeps = {
    io: { out: (t) => void (stdout += t), err: (t) => void (stderr += t) },
    cwd: options.cwd ?? REPO_ROOT,
    readStdin: async () => options.stdin ?? "",
    now: () => options.nowMs ?? FIXED_NOW_MS,
    env: options.env ?? {},
    ...(options.openCompute === undefined ? {} : { openCompute: options.openCompute }),
  };
  const code = await runPodid(argv, deps, options.name ?? "podid");
  return { code, stdout, stderr };
}
