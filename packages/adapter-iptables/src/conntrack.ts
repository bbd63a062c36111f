import type { InterceptionSpec } from "@podid/core";
import type { CommandRunner } from "./command-runner.js";

/** What a conntrack flush did. Absence of the tool is reported, never fatal (the flush is optional). */
export type ConntrackFlushOutcome =
  | { readonly kind: "flushed"; readonly deleted: number | undefined }
  | { readonly kind: "unavailable"; readonly reason: string }
  | { readonly kind: "failed"; readonly reason: string };

const DELETED = /(\d+) flow entr(?:y|ies) ha(?:s|ve) been deleted/;

/**
 * Deletes conntrack entries whose ORIGINAL destination is the metadata address and port
 * (`conntrack -D -p tcp --orig-dst <ip> --orig-port-dst <port>`), so keep-alive connections a pod
 * opened before the rules existed are re-evaluated (the original's `--enable-conntrack-deletion`,
 * PR #1243, v1.8.7). conntrack exits 1 when nothing matched; that counts as a flush of 0 entries.
 */
export async function flushMetadataConntrack(
  runner: CommandRunner,
  spec: InterceptionSpec,
  options: { readonly binary?: string; readonly timeoutMs?: number } = {},
): Promise<ConntrackFlushOutcome> {
  const binary = options.binary ?? "conntrack";
  const outcome = await runner.run(
    [binary, "-D", "-p", "tcp", "--orig-dst", spec.metadataAddress, "--orig-port-dst", String(spec.metadataPort)],
    { timeoutMs: options.timeoutMs ?? 10_000 },
  );
  switch (outcome.kind) {
    case "notFound":
      return { kind: "unavailable", reason: `${binary} is not installed (${outcome.message})` };
    case "timedOut":
      return { kind: "failed", reason: `${binary} timed out after ${String(outcome.timeoutMs)} ms` };
    case "failed":
      return { kind: "failed", reason: outcome.message };
    case "exited": {
      const count = DELETED.exec(`${outcome.stderr}\n${outcome.stdout}`)?.[1];
      if (outcome.exitCode === 0 || count !== undefined) return { kind: "flushed", deleted: count === undefined ? undefined : Number(count) };
      return { kind: "failed", reason: `exit ${String(outcome.exitCode)}: ${outcome.stderr.trim()}` };
    }
  }
}
