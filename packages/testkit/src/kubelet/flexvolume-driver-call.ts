/**
 * One call of a FlexVolume driver the way kubelet makes it: the driver's executable run with the verb and its
 * arguments, a JSON status read from stdout (`{"status":"Success"|"Failure"|"Not supported","message"?}`),
 * stderr kept for diagnostics. kubelet's contract is that stdout holds exactly that JSON object.
 * @packageDocumentation
 */
import { spawn } from "node:child_process";

/** How to run one FlexVolume driver: the executable and the arguments before the verb. */
export interface FlexVolumeDriverCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Extra environment for the driver (kubelet's own environment is not passed on). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What a driver answered. */
export interface FlexVolumeCallResult {
  readonly status: "Success" | "Failure" | "Not supported" | "Invalid output";
  readonly message: string;
  readonly capabilities?: Readonly<Record<string, unknown>>;
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly durationMs: number;
  /** When the call started (ms since the epoch). */
  readonly startedAt: number;
}

/** kubelet's own limit is the driver call timeout of the exec plugin framework; the simulation uses one bound. */
const DEFAULT_CALL_TIMEOUT_MS = 120_000;

/** Runs `driver <verb> <args…>` and parses its status; never throws for a driver's failure. */
export async function callFlexVolumeDriver(
  driver: FlexVolumeDriverCommand,
  verbAndArgs: readonly string[],
  timeoutMs: number = DEFAULT_CALL_TIMEOUT_MS,
): Promise<FlexVolumeCallResult> {
  const startedAt = Date.now();
  const child = spawn(driver.command, [...driver.args, ...verbAndArgs], {
    env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...driver.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-8_000)));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once("error", (error) => {
      stderr += `${error.message}\n`;
      resolve(null);
    });
    child.once("close", (code) => resolve(code));
  });
  clearTimeout(timer);
  const durationMs = Date.now() - startedAt;
  const parsed = parseStatus(stdout);
  if (parsed === undefined) {
    return { status: "Invalid output", message: `driver printed no JSON status (exit ${String(exitCode)}): ${stdout.trim().slice(0, 200)}`, exitCode, stderr, durationMs, startedAt };
  }
  return { ...parsed, exitCode, stderr, durationMs, startedAt };
}

function parseStatus(stdout: string): Pick<FlexVolumeCallResult, "status" | "message" | "capabilities"> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(stdout.trim());
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const status = record["status"];
  if (status !== "Success" && status !== "Failure" && status !== "Not supported") return undefined;
  const capabilities = record["capabilities"];
  return {
    status,
    message: typeof record["message"] === "string" ? record["message"] : "",
    ...(typeof capabilities === "object" && capabilities !== null ? { capabilities: capabilities as Record<string, unknown> } : {}),
  };
}
