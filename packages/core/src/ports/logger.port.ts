/** Structured fields attached to a log line. Never put tokens or secrets here. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Structured logging (pino in the deployables, a recorder in testkit). */
export interface LoggerPort {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): LoggerPort;
}
