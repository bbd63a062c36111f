import { createDaemonPino } from "@podid/daemon-shell";
import type { DestinationStream, Logger } from "pino";
import type { MicLogLevel } from "../config/mic-config.js";

/**
 * MIC's logger: daemon-shell's pino setup with MIC's redaction list. MIC holds an ARM credential, so
 * secrets are redacted wherever they appear in a line; MIC logs a few lines per planning pass, so pino's
 * wildcard paths (slower than exact ones) are affordable here, unlike in NMI.
 * @packageDocumentation
 */

const SECRET_FIELDS = ["access_token", "token", "authorization", "Authorization", "secret", "clientSecret", "client_secret", "aadClientSecret", "password"] as const;

/** MIC's redaction paths: each secret field at the top level and one or two levels down. */
export const MIC_REDACT_PATHS: readonly string[] = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/** Options of {@link createMicPino}. */
export interface MicPinoOptions {
  readonly level?: MicLogLevel | "silent";
  /** Fields on every line (`component: "mic"` is always there). */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Where lines go (default stdout, synchronously, so nothing is lost on exit). */
  readonly destination?: DestinationStream;
}

/** A pino logger for MIC. */
export function createMicPino(options: MicPinoOptions = {}): Logger {
  return createDaemonPino({ ...options, component: "mic", redactPaths: MIC_REDACT_PATHS });
}
