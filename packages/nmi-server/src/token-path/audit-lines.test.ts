import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AuditFacts, AuditRecord } from "./7-response-audit.js";
import { AUDIT_MESSAGE, auditSubject, buildAuditRecord } from "./7-response-audit.js";
import { createNmiLogging, createNmiPino, REDACT_PATHS } from "../nmi-logging.js";
import { PinoAuditWriter } from "./8-audit-lines.js";

/** A destination collecting the chunks written to it. */
function collector(): { write(chunk: string): boolean; chunks: string[]; lines(): unknown[] } {
  const chunks: string[] = [];
  return {
    chunks,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as unknown),
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const record = (n: number, extra: Partial<AuditFacts> = {}): AuditFacts => ({
  requestId: `r-${n}`,
  method: "GET",
  route: "token",
  sourceIp: "10.0.0.5",
  decision: "issued",
  status: 200,
  cache: "hit",
  durationMs: n,
  ...extra,
});

/** Every key an audit record may carry (kept in step with the type by the `satisfies` below). */
const AUDIT_KEYS = {
  audit: true,
  requestId: true,
  route: true,
  method: true,
  path: true,
  sourceIp: true,
  podUid: true,
  podNamespace: true,
  podName: true,
  identity: true,
  clientId: true,
  resource: true,
  decision: true,
  reason: true,
  status: true,
  cacheHit: true,
  cache: true,
  upstreamMs: true,
  waitedMs: true,
  durationMs: true,
} as const satisfies Record<Exclude<keyof AuditRecord, symbol>, true>;

const text = fc.string({ unit: "binary", maxLength: 40 });
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

/**
 * Any request's audit facts, with or without a memoised subject, and with client-chosen strings
 * (resource, path, request id) full of characters JSON must escape.
 */
const anyFacts: fc.Arbitrary<AuditFacts> = fc
  .record({
    requestId: text,
    method: fc.constantFrom("GET", "POST", "DELETE"),
    route: fc.constantFrom("token", "hostToken", "instance", "proxy", "rejected" as const),
    path: optional(text),
    sourceIp: fc.ipV4(),
    pod: optional(fc.record({ uid: fc.uuid(), namespace: text, name: text })),
    identity: optional(text),
    clientId: optional(fc.uuid()),
    resource: optional(text),
    memoised: fc.boolean(),
    decision: text,
    reason: optional(text),
    status: fc.integer({ min: 100, max: 599 }),
    cache: optional(fc.constantFrom("hit", "refresh", "joined", "miss", "rejection" as const)),
    upstreamMs: optional(fc.nat()),
    waitedMs: optional(fc.nat()),
    durationMs: fc.nat(),
  })
  .map(({ memoised, ...facts }) => ({
    ...facts,
    subject:
      memoised && facts.pod !== undefined
        ? auditSubject({ sourceIp: facts.sourceIp, pod: facts.pod, identity: facts.identity, clientId: facts.clientId, resource: facts.resource })
        : undefined,
  }));

describe("PinoAuditWriter", () => {
  it("writes the very line pino would write for the record of any facts (escaping included), apart from the time", async () => {
    const pinoOut = collector();
    const ours = collector();
    const logger = createNmiPino({ base: { node: "node-1" }, destination: pinoOut }).child({ server: "nmi" });
    const writer = new PinoAuditWriter({ logger, destination: ours, now: () => new Date("2026-11-22T10:00:00.000Z") });
    await fc.assert(
      fc.asyncProperty(anyFacts, async (facts) => {
        pinoOut.chunks.length = 0;
        ours.chunks.length = 0;
        const r: AuditRecord = buildAuditRecord(facts);
        logger.info(r, AUDIT_MESSAGE);
        writer.write(facts);
        await nextTurn();
        const [expected] = pinoOut.lines() as Record<string, unknown>[];
        const [actual] = ours.lines() as Record<string, unknown>[];
        expect(actual).toEqual({ ...expected, time: "2026-11-22T10:00:00.000Z" });
        // Same key order as pino's line: level, time, bindings, fields, msg.
        expect(Object.keys(actual ?? {})).toEqual(Object.keys(expected ?? {}));
        // And both in the documented field order.
        expect(Object.keys(actual ?? {}).filter((k) => k in r)).toEqual(Object.keys(r));
      }),
      { numRuns: 300 },
    );
  });

  it("writes the time exactly as pino's isoTime (toISOString) for any sequence of times, within and across seconds", () => {
    // Times between 1970 and 2200, and each one's neighbours in the same and the next second.
    const anyMs = fc.integer({ min: 0, max: 7_258_118_400_000 });
    fc.assert(
      fc.property(fc.array(fc.tuple(anyMs, fc.integer({ min: 0, max: 1_500 })), { minLength: 1, maxLength: 6 }), (times) => {
        const out = collector();
        let nowMs = 0;
        const writer = new PinoAuditWriter({ logger: createNmiPino({ destination: out }), destination: out, now: () => new Date(nowMs) });
        const expected: string[] = [];
        for (const [base, step] of times) {
          for (const ms of [base, base + step]) {
            nowMs = ms;
            writer.write(record(ms));
            writer.flush();
            expected.push(new Date(ms).toISOString());
          }
        }
        expect(out.lines().map((l) => (l as { time: string }).time)).toEqual(expected);
        // The bytes as pino writes them: `"time":"<ISO>"` right after the level.
        expect(out.chunks.map((c) => c.slice(0, 49))).toEqual(expected.map((t) => `{"level":"info","time":"${t}"`.slice(0, 49)));
      }),
      { numRuns: 300 },
    );
  });

  it("writes one chunk per event-loop turn, in order, and splits at maxBatch", async () => {
    const out = collector();
    const writer = new PinoAuditWriter({ logger: createNmiPino({ destination: out }), destination: out, maxBatch: 4 });
    for (let i = 0; i < 10; i++) writer.write(record(i));
    // Two full batches went at once; the rest waits for the end of the turn.
    expect(out.chunks).toHaveLength(2);
    await nextTurn();
    expect(out.chunks).toHaveLength(3);
    expect(out.lines().map((l) => (l as { requestId: string }).requestId)).toEqual(Array.from({ length: 10 }, (_, i) => `r-${i}`));
    writer.write(record(10));
    await nextTurn();
    expect(out.chunks).toHaveLength(4);
  });

  it("flush writes what is pending at once, and nothing twice", async () => {
    const out = collector();
    const writer = new PinoAuditWriter({ logger: createNmiPino({ destination: out }), destination: out });
    writer.write(record(1));
    writer.write(record(2));
    writer.flush();
    expect(out.lines()).toHaveLength(2);
    writer.flush();
    await nextTurn();
    expect(out.lines()).toHaveLength(2);
  });

  it("follows the logger's level, also when it changes at run time", async () => {
    const out = collector();
    const logger = createNmiPino({ level: "warn", destination: out });
    const writer = new PinoAuditWriter({ logger, destination: out });
    writer.write(record(1));
    await nextTurn();
    expect(out.chunks).toHaveLength(0);
    logger.level = "info";
    writer.write(record(2));
    await nextTurn();
    expect(out.lines()).toMatchObject([{ requestId: "r-2", level: "info", msg: AUDIT_MESSAGE }]);
  });

  it("shares the stream with the process logger, whole lines in write order", async () => {
    const out = collector();
    const logging = createNmiLogging({ base: { node: "n" }, destination: out });
    logging.pino.info({ step: 1 }, "before");
    logging.audit.write(record(1));
    logging.audit.flush();
    logging.pino.info({ step: 2 }, "after");
    expect(out.lines()).toMatchObject([{ msg: "before" }, { msg: AUDIT_MESSAGE, server: "nmi", node: "n", requestId: "r-1" }, { msg: "after" }]);
  });

  it("needs no redaction: no audit field is a redacted key", () => {
    const redactedTopLevel = new Set(REDACT_PATHS.filter((p) => !p.includes(".")));
    const containers = new Set(REDACT_PATHS.filter((p) => p.includes(".")).map((p) => p.split(".")[0]));
    for (const key of Object.keys(AUDIT_KEYS)) {
      expect(redactedTopLevel.has(key)).toBe(false);
      expect(containers.has(key)).toBe(false);
    }
  });

  it("serialises a shared subject once, and a request's own fields every time", async () => {
    const out = collector();
    const writer = new PinoAuditWriter({ logger: createNmiPino({ destination: out }), destination: out });
    const subject = auditSubject({ sourceIp: "10.0.0.5", pod: { uid: "u-1", namespace: "ns", name: "app" }, identity: "ns/id", resource: "https://vault.azure.net" });
    const stringify = JSON.stringify;
    let subjectSerialisations = 0;
    JSON.stringify = ((value: unknown, ...rest: []) => {
      if (value === subject) subjectSerialisations += 1;
      return stringify(value, ...rest);
    }) as typeof JSON.stringify;
    try {
      for (let i = 0; i < 5; i++) writer.write({ ...record(i), subject });
      writer.flush();
    } finally {
      JSON.stringify = stringify;
    }
    expect(subjectSerialisations).toBe(1);
    expect(out.lines()).toMatchObject(Array.from({ length: 5 }, (_, i) => ({ requestId: `r-${i}`, podName: "app", durationMs: i, cacheHit: true })));
  });
});
