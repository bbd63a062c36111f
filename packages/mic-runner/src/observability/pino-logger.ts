import { pino, type DestinationStream, type Logger } from "pino";
import type { LogFields, LoggerPort } from "@podid/core";
import type { MicLogLevel } from "../config/mic-config.js";

/**
 * MIC's pino logger (JSON lines with ISO timestamps and textual levels) and its {@link LoggerPort} face.
 * MIC holds an ARM credential, so secrets are redacted wherever they appear in a line.
 * @packageDocumentation
 */

/** The value redacted fields are replaced with. */
export const REDACTED = "[Redacted]";

const SECRET_FIELDS = ["access_token", "token", "authorization", "Authorization", "secret", "clientSecret", "client_secret", "aadClientSecret", "password"] as const;

/** Redaction paths: each secret field at the top level and one or two levels down. */
export const REDACT_PATHS: readonly string[] = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

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
  return pino(
    {
      level: options.level ?? "info",
      base: { component: "mic", ...(options.base ?? {}) },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** {@link LoggerPort} over a pino logger. */
export function pinoLoggerPort(logger: Logger): LoggerPort {
  return {
    debug: (fields: LogFields, message: string) => logger.debug(fields, message),
    info: (fields: LogFields, message: string) => logger.info(fields, message),
    warn: (fields: LogFields, message: string) => logger.warn(fields, message),
    error: (fields: LogFields, message: string) => logger.error(fields, message),
    child: (bindings: LogFields) => pinoLoggerPort(logger.child(bindings)),
  };
}
