/**
 * What every `podid` command writes to and how it ends: output sinks (replaceable in tests), exit codes,
 * and the one error type that carries a message a user can act on.
 * @packageDocumentation
 */

/** Where a command writes. Each call is one chunk of text; commands end their lines themselves. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * Exit codes of `podid`: `0` success; `1` usage, input/output or cluster-access errors; `2` findings — `plan`:
 * the plan contains quarantined or invalid identities, `explain`: a verdict is a problem (see
 * `explain/verdict-severity.ts`) — so CI and scripts can gate on it.
 */
export const EXIT_CODE = { ok: 0, error: 1, findings: 2 } as const;

/** One of {@link EXIT_CODE}'s values. */
export type ExitCode = (typeof EXIT_CODE)[keyof typeof EXIT_CODE];

/**
 * A failure explained for a human: what went wrong (`message`) and, when known, what to do about it
 * (`hint`, printed on its own line after "→"). Thrown by commands, caught once by the program, never shown
 * with a stack trace.
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, options: { readonly hint?: string; readonly exitCode?: ExitCode } = {}) {
    super(message);
    this.name = "CliError";
    this.exitCode = options.exitCode ?? EXIT_CODE.error;
    this.hint = options.hint;
  }
}

/** The text `podid` prints for a {@link CliError}: `podid: <message>` and, when there is one, `  → <hint>`. */
export function formatCliError(programName: string, error: CliError): string {
  return `${programName}: ${error.message}\n${error.hint === undefined ? "" : `  → ${error.hint}\n`}`;
}
