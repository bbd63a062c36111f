import type { ClockPort, LogFields, LoggerPort } from "@podid/core";

/** Log levels of {@link LoggerPort}. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One recorded log line. */
export interface LogLine {
  /** Position in the shared sink, from 1. */
  readonly seq: number;
  readonly level: LogLevel;
  readonly message: string;
  /** Bindings of the logger (outermost child first) merged with the line's own fields; own fields win. */
  readonly fields: LogFields;
  /** The bindings alone. */
  readonly bindings: LogFields;
  /** Clock time of the line (when a clock was given). */
  readonly atMs?: number;
}

interface Sink {
  readonly lines: LogLine[];
  readonly clock: Pick<ClockPort, "now"> | undefined;
}

/**
 * True when `text` occurs in any string reachable from `value` (object values, array items, Map/Set
 * entries, Error messages, numbers and bigints as decimal text). Walks cycles safely.
 */
function contains(value: unknown, text: string, seen = new Set<object>()): boolean {
  if (typeof value === "string") return value.includes(text);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value).includes(text);
  if (typeof value !== "object" || value === null) return false;
  if (seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Error && (contains(value.message, text, seen) || contains(value.stack, text, seen))) return true;
  if (value instanceof Map) return [...value].some(([k, v]) => contains(k, text, seen) || contains(v, text, seen));
  if (value instanceof Set) return [...value].some((v) => contains(v, text, seen));
  if (ArrayBuffer.isView(value)) return false;
  return Object.entries(value).some(([k, v]) => k.includes(text) || contains(v, text, seen));
}

/**
 * A {@link LoggerPort} that keeps every line in memory. Children share the parent's sink and add their
 * bindings, so `lines` of any logger in the tree shows everything in order. Use {@link find} /
 * {@link findAll} to assert on messages and {@link mentions} to prove a secret or token never reached a
 * log line.
 */
export class RecordingLogger implements LoggerPort {
  #sink: Sink;
  #bindings: LogFields;

  /** Creates a root logger; `clock` stamps lines with `atMs`. */
  constructor(options: { readonly clock?: Pick<ClockPort, "now">; readonly bindings?: LogFields } = {}) {
    this.#sink = { lines: [], clock: options.clock };
    this.#bindings = options.bindings ?? {};
  }

  /** Every line logged through this logger or any relative, oldest first. */
  get lines(): readonly LogLine[] {
    return this.#sink.lines;
  }

  /** Records a debug line. */
  debug(fields: LogFields, message: string): void {
    this.#write("debug", fields, message);
  }

  /** Records an info line. */
  info(fields: LogFields, message: string): void {
    this.#write("info", fields, message);
  }

  /** Records a warn line. */
  warn(fields: LogFields, message: string): void {
    this.#write("warn", fields, message);
  }

  /** Records an error line. */
  error(fields: LogFields, message: string): void {
    this.#write("error", fields, message);
  }

  /** A logger sharing this sink whose lines carry these bindings as well. */
  child(bindings: LogFields): RecordingLogger {
    const child = new RecordingLogger();
    child.#sink = this.#sink;
    child.#bindings = { ...this.#bindings, ...bindings };
    return child;
  }

  /** The first line whose message equals `message` (or matches the RegExp), optionally at `level`. */
  find(message: string | RegExp, level?: LogLevel): LogLine | undefined {
    return this.findAll(message, level)[0];
  }

  /** Every line whose message equals `message` (or matches the RegExp), optionally at `level`. */
  findAll(message: string | RegExp, level?: LogLevel): readonly LogLine[] {
    return this.#sink.lines.filter(
      (l) => (typeof message === "string" ? l.message === message : message.test(l.message)) && (level === undefined || l.level === level),
    );
  }

  /** Lines at `level`. */
  atLevel(level: LogLevel): readonly LogLine[] {
    return this.#sink.lines.filter((l) => l.level === level);
  }

  /** True when `text` appears in any message, field name or (nested) field value, e.g. a leaked token. */
  mentions(text: string): boolean {
    return this.#sink.lines.some((l) => l.message.includes(text) || contains(l.fields, text));
  }

  /** Forgets all lines (for every logger sharing the sink). */
  clear(): void {
    this.#sink.lines.length = 0;
  }

  #write(level: LogLevel, fields: LogFields, message: string): void {
    const sink = this.#sink;
    const at = sink.clock?.now();
    sink.lines.push({
      seq: sink.lines.length + 1,
      level,
      message,
      fields: { ...this.#bindings, ...fields },
      bindings: this.#bindings,
      ...(at !== undefined ? { atMs: at } : {}),
    });
  }
}
