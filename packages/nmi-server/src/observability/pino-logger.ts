import { pino, type DestinationStream, type Logger } from "pino";
import type { LogFields, LoggerPort } from "@podid/core";
import { PinoAuditWriter } from "./pino-audit-writer.js";

/**
 * NMI's pino logger and its {@link LoggerPort} face. NMI hands out tokens for every pod of the node, so
 * its logs must never carry one: redaction is configured here once, for fastify's own lines and for every
 * line written through the port.
 * @packageDocumentation
 */

/** The value redacted fields are replaced with. */
export const REDACTED = "[Redacted]";

/** Field names that hold tokens or secrets wherever they appear (top level or one level down). */
const SECRET_FIELDS = [
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "authorization",
  "Authorization",
  "cookie",
  "secret",
  "clientSecret",
  "client_secret",
  "password",
  "certificate",
  "client_assertion",
] as const;

/**
 * Objects under which request data or credentials may be logged (fastify's `req.headers`, an error's
 * config, a response body, a token object, …).
 */
const CONTAINERS = ["req.headers", "request.headers", "res.headers", "headers", "body", "token", "response", "err", "error", "fields", "credentials"] as const;

/**
 * Redaction paths: each secret field at the top level and inside each of {@link CONTAINERS}. Only exact
 * paths: pino's wildcard paths (`*.x`) cost 30–80 µs per line, which at NMI's request rates (one audit
 * line per request) would cost more than serving the request itself.
 */
export const REDACT_PATHS: readonly string[] = [...SECRET_FIELDS, ...CONTAINERS.flatMap((c) => SECRET_FIELDS.map((f) => `${c}.${f}`))];

/** Options of {@link createNmiPino}. */
export interface NmiPinoOptions {
  readonly level?: string;
  /** Fields on every line (e.g. `{ component: "nmi", node }`). */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Where lines go (default stdout). */
  readonly destination?: DestinationStream;
}

/** A pino logger with ISO timestamps, textual levels and the redaction of {@link REDACT_PATHS}. */
export function createNmiPino(options: NmiPinoOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { component: "nmi", ...(options.base ?? {}) },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination(1),
  );
}

/** NMI's process logging: the redacting logger and the audit writer, sharing one stream. */
export interface NmiLogging {
  readonly pino: Logger;
  /** Audit lines as `pino.child({ server: "nmi" })` would write them, batched per event-loop turn. */
  readonly audit: PinoAuditWriter;
}

/**
 * The logger and audit writer for a process (default stream: stdout, written synchronously as pino's
 * `destination(1)` does, so a line is out before the next request is read; audit lines are one write
 * per event-loop turn).
 */
export function createNmiLogging(options: NmiPinoOptions = {}): NmiLogging {
  const destination = options.destination ?? pino.destination(1);
  const logger = createNmiPino({ ...options, destination });
  return { pino: logger, audit: new PinoAuditWriter({ logger: logger.child({ server: "nmi" }), destination }) };
}

/** A pino logger that writes nothing (the default for tests and embedding). */
export function silentPino(): Logger {
  return createNmiPino({ level: "silent" });
}

/** {@link LoggerPort} over a pino logger (redaction included). */
export function pinoLoggerPort(logger: Logger): LoggerPort {
  return {
    debug: (fields: LogFields, message: string) => logger.debug(fields, message),
    info: (fields: LogFields, message: string) => logger.info(fields, message),
    warn: (fields: LogFields, message: string) => logger.warn(fields, message),
    error: (fields: LogFields, message: string) => logger.error(fields, message),
    child: (bindings: LogFields) => pinoLoggerPort(logger.child(bindings)),
  };
}
