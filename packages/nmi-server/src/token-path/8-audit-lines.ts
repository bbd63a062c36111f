import type { Logger } from "pino";
import { AUDIT_MESSAGE, buildAuditRecord, type AuditFacts, type AuditWriter } from "./7-response-audit.js";

/**
 * Token path, step 8 of 8 — the audit line written. NMI's production audit writer: the very lines `createNmiPino`'s
 * logger would write for each record (`level` label, ISO `time`, the logger's bindings, the record's fields,
 * `msg`), each timed when written, but collected during one turn of the event loop and written to the logger's
 * stream as one chunk. Why pino is bypassed here: serialising a record with `JSON.stringify` and writing once per
 * turn costs a fraction of a pino call (with redaction) per record, which matters at one record per request — in
 * the NMI benchmark (`harness/src/bench/nmi.bench.ts`) the audit line was the largest cost left on the cached-token
 * path. A test compares these lines with pino's for arbitrary records.
 *
 * No redaction is needed: an audit record is a closed set of fields (names, ids, addresses,
 * numbers) none of which is a redacted key (checked by a test), and it never holds a token or secret.
 * @packageDocumentation
 */

/**
 * `value` as a JSON string, exactly as `JSON.stringify` writes it: plain printable ASCII is quoted as it
 * is (a character loop, cheaper than a regular expression on these short strings); anything else —
 * quotes, backslashes, control characters, non-ASCII — goes through `JSON.stringify`.
 */
function quote(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) return JSON.stringify(value);
  }
  return `"${value}"`;
}

/** `value` as a JSON number, exactly as `JSON.stringify` writes it. */
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}

/** The members around the per-request values of a line served from a memoised decision (see `#appendLine`). */
const AUDIT_HEAD = `"audit":true,"requestId":`;
const UPSTREAM_MEMBER = `,"upstreamMs":`;
const WAITED_MEMBER = `,"waitedMs":`;
const DURATION_MEMBER = `,"durationMs":`;

/**
 * The serialised parts a subject's records share; `last` is the latest middle part and what it was made of.
 * Why the kept strings are made with `join` and not `+` or a template: a concatenation of long strings is a
 * rope, and the chunk's `join` walks a rope piece by piece for every line it is copied into; `join` makes one
 * flat string, copied whole (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, eighth addendum).
 */
interface SubjectJson {
  /** `,<subject members>,"decision":` */
  readonly subject: string;
  last?: {
    readonly method: string;
    readonly decision: string;
    readonly reason: string | undefined;
    readonly status: number;
    readonly cache: string | undefined;
    readonly text: string;
  };
}

/** From `"method"` to `"cache"` (the record's fields between the request id and the timings) for `facts`. */
function middleOf(shared: SubjectJson, facts: AuditFacts): string {
  const last = shared.last;
  if (last !== undefined && last.method === facts.method && last.decision === facts.decision && last.reason === facts.reason && last.status === facts.status && last.cache === facts.cache) {
    return last.text;
  }
  const cacheHit = facts.cache === "hit" || facts.cache === "refresh";
  const reason = facts.reason !== undefined ? `,"reason":${quote(facts.reason)}` : "";
  const cache = facts.cache !== undefined ? `,"cache":${quote(facts.cache)}` : "";
  const text = [`,"method":`, quote(facts.method), shared.subject, quote(facts.decision), reason, `,"status":`, num(facts.status), `,"cacheHit":`, cacheHit ? "true" : "false", cache].join("");
  shared.last = { method: facts.method, decision: facts.decision, reason: facts.reason, status: facts.status, cache: facts.cache, text };
  return text;
}

/** Options of {@link PinoAuditWriter}. */
export interface PinoAuditWriterOptions {
  /** The logger whose bindings and level apply (a child of `createNmiPino`'s logger). */
  readonly logger: Logger;
  /**
   * The stream that logger writes to. Sharing it keeps audit and operational lines whole and in the order
   * they were written to it.
   */
  readonly destination: { write(chunk: string): unknown };
  /** Records per chunk at most (default 256): a larger turn writes several chunks. */
  readonly maxBatch?: number;
  /** The time written on a chunk's lines (default `new Date()`). */
  readonly now?: () => Date;
}

/** Batches audit lines per event-loop turn; {@link flush} writes the pending ones at once. */
export class PinoAuditWriter implements AuditWriter {
  readonly #logger: Logger;
  readonly #destination: { write(chunk: string): unknown };
  readonly #maxBatch: number;
  readonly #nowMs: () => number;
  /** The line prefix up to the bindings, for {@link #prefixMs}. */
  #prefix = "";
  #prefixMs = Number.NaN;
  /** The ISO time up to the seconds' dot (`2026-11-22T10:00:00.`), for {@link #second}. */
  #secondText = "";
  #second = Number.NaN;
  /** `,"component":…,"node":…` — the logger's bindings as they appear in each line. */
  readonly #bindings: string;
  readonly #suffix = [`,"msg":`, JSON.stringify(AUDIT_MESSAGE), "}\n"].join("");
  /** Per subject (weak: they go with the memoised decisions), the JSON of its requests' shared fields. */
  readonly #subjects = new WeakMap<object, SubjectJson>();
  /**
   * The pieces of the lines written since the last chunk, and how many lines they make. A record is turned into
   * its line's pieces when it is written, not kept until the chunk: under load a turn's records would otherwise
   * all be alive at a young-generation collection, and copying survivors is what collections cost.
   */
  #parts: string[] = [];
  #lines = 0;
  #scheduled: NodeJS.Immediate | undefined;

  constructor(options: PinoAuditWriterOptions) {
    this.#logger = options.logger;
    this.#destination = options.destination;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 256);
    const now = options.now;
    this.#nowMs = now === undefined ? Date.now : () => now().getTime();
    const bindings = JSON.stringify(options.logger.bindings());
    this.#bindings = bindings === "{}" ? "" : `,${bindings.slice(1, -1)}`;
  }

  /**
   * Turns a request's record into its line (timed now) for the chunk written at the end of this turn; nothing
   * when the logger's level hides `info`.
   */
  write(facts: AuditFacts): void {
    if (!this.#logger.isLevelEnabled("info")) return;
    this.#appendLine(this.#parts, this.#linePrefix(this.#nowMs()), facts);
    if (++this.#lines >= this.#maxBatch) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  /**
   * Appends one line to `parts`: `prefix`, the record's fields as JSON members — exactly as
   * `JSON.stringify(buildAuditRecord(facts))` writes them — and the closing `msg`. A request served from a
   * memoised decision shares its subject (who asked for what) with every other request of that decision,
   * and usually its method, decision, status and cache state too: that middle part is serialised once per
   * subject and reused while it stays the same, and the record is never built. Per request only the request
   * id, the timings and the duration are written, in record order (AUDIT_HEAD_KEYS, subject,
   * AUDIT_TAIL_KEYS). Appended as pieces rather than built as a line: the chunk's one `join` copies each
   * piece once, where a line string would be built and then copied again.
   */
  #appendLine(parts: string[], prefix: string, facts: AuditFacts): void {
    const subject = facts.subject;
    if (subject === undefined) {
      // A decided, forwarded or refused request: the record through `JSON.stringify`, which measured faster
      // than appending its members one by one (ADR 4, seventh addendum).
      parts.push(prefix, JSON.stringify(buildAuditRecord(facts)).slice(1, -1), this.#suffix);
      return;
    }
    let shared = this.#subjects.get(subject);
    if (shared === undefined) {
      shared = { subject: [",", JSON.stringify(subject).slice(1, -1), `,"decision":`].join("") };
      this.#subjects.set(subject, shared);
    }
    parts.push(prefix, AUDIT_HEAD, quote(facts.requestId), middleOf(shared, facts));
    if (facts.upstreamMs !== undefined) parts.push(UPSTREAM_MEMBER, num(facts.upstreamMs));
    if (facts.waitedMs !== undefined) parts.push(WAITED_MEMBER, num(facts.waitedMs));
    parts.push(DURATION_MEMBER, num(facts.durationMs), this.#suffix);
  }

  /**
   * `{"level":"info","time":"<ISO time>",<bindings>,` for the time `ms`, exactly as pino's `isoTime` writes it
   * (`new Date(ms).toISOString()`). `toISOString` costs more than the rest of a turn's line, so it runs once per
   * second: within a second only the milliseconds change, and the prefix itself is kept for its millisecond.
   */
  #linePrefix(ms: number): string {
    if (ms === this.#prefixMs) return this.#prefix;
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      const iso = new Date(second * 1000).toISOString();
      // `…:SS.000Z` without `000Z` (the year may be longer than four digits: the tail is cut, not the head).
      this.#secondText = iso.slice(0, -4);
      this.#second = second;
    }
    const milli = ms - second * 1000;
    // Joined, not concatenated: every line of this millisecond copies it (see `SubjectJson`).
    this.#prefix = [`{"level":"info","time":"`, this.#secondText, milli < 10 ? "00" : milli < 100 ? "0" : "", String(milli), `Z"`, this.#bindings, ","].join("");
    this.#prefixMs = ms;
    return this.#prefix;
  }

  /** Writes every pending record as one chunk. */
  flush(): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#lines === 0) return;
    // Pieces joined once rather than appended one by one: the stream measures and copies the chunk, and a
    // deep chain of appended strings costs far more to flatten than a join.
    const chunk = this.#parts.join("");
    this.#parts = [];
    this.#lines = 0;
    this.#destination.write(chunk);
  }
}
