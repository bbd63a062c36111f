import type { LoggerPort } from "@podid/core";
import { AUDIT_MESSAGE, buildAuditRecord, type AuditFacts } from "./audit.js";

/**
 * Where audit records go. The engine writes one record per request; a writer may batch them (see
 * `PinoAuditWriter`) as long as every record becomes one line, in order, and {@link AuditWriter.flush}
 * writes whatever is pending.
 * @packageDocumentation
 */

/** A sink for audit records, given as the facts `buildAuditRecord` renders. */
export interface AuditWriter {
  /** Takes one request's facts (written now or with the current batch). */
  write(facts: AuditFacts): void;
  /** Writes every pending record (shutdown). */
  flush(): void;
}

/** Writes each record at once as one `info` line of `logger` (tests and embedders; no batching). */
export function loggerAuditWriter(logger: LoggerPort): AuditWriter {
  return {
    write: (facts) => logger.info(buildAuditRecord(facts), AUDIT_MESSAGE),
    flush: () => undefined,
  };
}
