/**
 * The driver's log: pino JSON lines on stderr, which kubelet captures with the call's output (stdout is the
 * status kubelet parses, so nothing else may go there). Written synchronously so the lines are out before the
 * process exits. Secrets and tokens are never passed to it.
 */
import pino from "pino";

/** What the driver's modules log through. */
export interface DriverLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** The stderr logger of one `podid-kv` call. */
export function stderrLog(): DriverLog {
  return pino({ name: "podid-kv", base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}
