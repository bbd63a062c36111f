import { pino, type DestinationStream, type Logger } from "pino";
import { createDaemonPino } from "@podid/daemon-shell";
import { PinoAuditWriter } from "./token-path/8-audit-lines.js";

/**
 * NMI's process logging: daemon-shell's pino logger with NMI's redaction list, and the batched audit
 * writer sharing its stream. NMI hands out tokens for every pod of the node, so its logs must never carry
 * one: redaction is configured here once, for fastify's own lines and every line written through the port.
 * @packageDocumentation
 */

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

/** Options of {@link createNmiPino} and {@link createNmiLogging}. */
export interface NmiPinoOptions {
  readonly level?: string;
  /** Fields on every line after `component: "nmi"` (e.g. `{ node }`). */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Where lines go (default stdout). */
  readonly destination?: DestinationStream;
}

/** NMI's redacting pino logger (`component: "nmi"`, {@link REDACT_PATHS}). */
export function createNmiPino(options: NmiPinoOptions = {}): Logger {
  return createDaemonPino({ ...options, component: "nmi", redactPaths: REDACT_PATHS });
}

/** NMI's process logging: the redacting logger and the audit writer, sharing one stream. */
export interface NmiLogging {
  readonly pino: Logger;
  /** Audit lines as `pino.child({ server: "nmi" })` would write them, batched per event-loop turn. */
  readonly audit: PinoAuditWriter;
}

/**
 * The logger and audit writer for a process (default stream: stdout, written synchronously, so a line is
 * out before the next request is read; audit lines are one write per event-loop turn). Synchronous on
 * purpose: `pino.destination(1)` alone is asynchronous (`fs.write` through libuv's thread pool), which costs
 * every turn a hand-off to a pool thread and a wake-up of the event loop when it completes — measured in
 * `npm run bench:nmi` (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, third addendum).
 */
export function createNmiLogging(options: NmiPinoOptions = {}): NmiLogging {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const logger = createNmiPino({ ...options, destination });
  return { pino: logger, audit: new PinoAuditWriter({ logger: logger.child({ server: "nmi" }), destination }) };
}
