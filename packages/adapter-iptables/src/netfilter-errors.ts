import type { NetfilterError } from "@podid/core";
import type { CommandOutcome } from "./command-runner.js";

/**
 * iptables exits with 4 (`RESOURCE_PROBLEM`) when it gave up waiting for `/run/xtables.lock`, and says
 * so on stderr ("Another app is currently holding the xtables lock").
 */
const LOCK_MESSAGE = /xtables lock|holding the xtables|Resource temporarily unavailable/i;

/** Maps a failed command to the port's {@link NetfilterError}; `undefined` for a clean exit 0. */
export function netfilterErrorOf(outcome: CommandOutcome): NetfilterError | undefined {
  switch (outcome.kind) {
    case "exited":
      if (outcome.exitCode === 0) return undefined;
      if (outcome.exitCode === 4 || LOCK_MESSAGE.test(outcome.stderr)) {
        return { kind: "lockTimeout", message: outcome.stderr.trim() || `exit ${String(outcome.exitCode)} (xtables lock)` };
      }
      return { kind: "commandFailed", exitCode: outcome.exitCode, stderr: outcome.stderr.trim() };
    case "notFound":
      return { kind: "unavailable", message: `${outcome.command}: not installed or not executable (${outcome.message})` };
    case "timedOut":
      return { kind: "lockTimeout", message: `${outcome.command} did not finish within ${String(outcome.timeoutMs)} ms (xtables lock held?)${outcome.stderr === "" ? "" : `: ${outcome.stderr.trim()}`}` };
    case "failed":
      return { kind: "commandFailed", exitCode: -1, stderr: outcome.message };
  }
}

/** One line describing `error`, for logs. */
export function describeNetfilterError(error: NetfilterError): string {
  switch (error.kind) {
    case "lockTimeout":
      return `xtables lock: ${error.message}`;
    case "commandFailed":
      return `iptables command failed (exit ${String(error.exitCode)}): ${error.stderr}`;
    case "unavailable":
      return `netfilter unavailable: ${error.message}`;
  }
}
