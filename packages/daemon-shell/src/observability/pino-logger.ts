import { pino, type DestinationStream, type Logger } from "pino";
import type { LogFields, LoggerPort } from "@podid/core";

/**
 * The daemons' pino logger (JSON lines with ISO timestamps and textual levels) and its {@link LoggerPort}
 * face. The redaction paths are a parameter because the daemons hold different secrets and log at very
 * different rates: MIC can afford pino's wildcard paths, NMI (one line per token request) only exact ones.
 * @packageDocumentation
 */

/** The value redacted fields are replaced with. */
export const REDACTED = "[Redacted]";

/** Options of {@link createDaemonPino}. */
export interface DaemonPinoOptions {
  /** `component` on every line (`"mic"`, `"nmi"`). */
  readonly component: string;
  /** pino redaction paths; each matching field is replaced with {@link REDACTED}. */
  readonly redactPaths: readonly string[];
  /** pino level name (default `info`; `silent` writes nothing). */
  readonly level?: string;
  /** More fields on every line (e.g. `{ instance }` or `{ node }`); `component` cannot be overridden by accident, it comes first and these follow. */
  readonly base?: Readonly<Record<string, unknown>>;
  /**
   * Where lines go. Default: stdout written synchronously, so the last lines before `process.exit` are
   * not lost (an asynchronous stream may still hold them).
   */
  readonly destination?: DestinationStream;
}

/** A pino logger for a daemon. */
export function createDaemonPino(options: DaemonPinoOptions): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { component: options.component, ...(options.base ?? {}) },
      redact: { paths: [...options.redactPaths], censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A pino logger that writes nothing (the default of tests and embedding). */
export function silentPino(): Logger {
  return pino({ level: "silent" });
}

/** {@link LoggerPort} over a pino logger (the logger's redaction applies to every line). */
export function pinoLoggerPort(logger: Logger): LoggerPort {
  return {
    debug: (fields: LogFields, message: string) => logger.debug(fields, message),
    info: (fields: LogFields, message: string) => logger.info(fields, message),
    warn: (fields: LogFields, message: string) => logger.warn(fields, message),
    error: (fields: LogFields, message: string) => logger.error(fields, message),
    child: (bindings: LogFields) => pinoLoggerPort(logger.child(bindings)),
  };
}
