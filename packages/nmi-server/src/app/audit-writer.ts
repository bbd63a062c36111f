import type { LoggerPort } from "@podid/core";
import { AUDIT_MESSAGE, type AuditRecord } from "./audit.js";

/**
 * Where audit records go. The engine writes one record per request; a writer may batch them (see
 * `PinoAuditWriter`) as long as every record becomes one line, in order, and {@link AuditWriter.flush}
 * writes whatever is pending.
 * @packageDocumentation
 */

/** A sink for audit records. */
export interface AuditWriter {
  /** Takes one record (written now or with the current batch). */
  write(record: AuditRecord): void;
  /** Writes every pending record (shutdown). */
  flush(): void;
}

/** Writes each record at once as one `info` line of `logger` (tests and embedders; no batching). */
export function loggerAuditWriter(logger: LoggerPort): AuditWriter {
  return {
    write: (record) => logger.info(record, AUDIT_MESSAGE),
    flush: () => undefined,
  };
}
