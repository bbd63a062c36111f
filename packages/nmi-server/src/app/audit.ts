import type { PodRef, RequestRoute } from "@podid/core";
import type { CacheResult } from "../cache/token-cache-driver.js";

/**
 * The audit record: one structured line per request NMI decides (peers §6 item 12), replacing the
 * original's "status (200) took N ns for req.method=… req.path=… req.remote=…" line. It says who asked
 * (pod UID, namespace/name, source IP), for what (identity, resource), what was decided and how it was
 * served (cache hit, upstream latency) — and never carries a token or secret: only names and ids.
 * @packageDocumentation
 */

/**
 * One audit record (a type alias, so it is a plain `LogFields` record). Its fields are always in the
 * order listed here (see {@link buildAuditRecord}), so a line reads the same whoever writes it.
 */
export type AuditRecord = {
  /** Always `true`: what tells an audit line from an operational one. */
  readonly audit: true;
  readonly requestId: string;
  readonly method: string;
  /** The route core's canonicalisation chose (never the raw path). */
  readonly route: RequestRoute["route"];
  /** The path (without query) for forwarded and rejected requests, truncated; absent on token routes. */
  readonly path?: string;
  readonly sourceIp: string;
  readonly podUid?: string;
  readonly podNamespace?: string;
  readonly podName?: string;
  /** `namespace/name` of the AzureIdentity used, or `node` (+ selector) for an excepted pod. */
  readonly identity?: string;
  readonly clientId?: string;
  readonly resource?: string;
  /** The final decision or outcome kind (`issued`, `forwarded`, `badRequest`, `notFound`, …). */
  readonly decision: string;
  /** The refusal reason kind, when there is one. */
  readonly reason?: string;
  readonly status: number;
  readonly cacheHit: boolean;
  readonly cache?: CacheResult;
  /** Upstream (IMDS/AAD) latency of the fetch this request waited for, in ms. */
  readonly upstreamMs?: number;
  /** Time spent waiting for assignment, in ms. */
  readonly waitedMs?: number;
  readonly durationMs: number;
};

/**
 * The fields, from `route` to `resource`, that every request served from one memoised decision shares:
 * who asked for what. Built once per decision; its field order is the record's.
 */
export type AuditSubject = Pick<AuditRecord, "route" | "path" | "sourceIp" | "podUid" | "podNamespace" | "podName" | "identity" | "clientId" | "resource">;

/** The fields before the subject, in order. */
export const AUDIT_HEAD_KEYS = ["audit", "requestId", "method"] as const;
/** The fields after the subject, in order. */
export const AUDIT_TAIL_KEYS = ["decision", "reason", "status", "cacheHit", "cache", "upstreamMs", "waitedMs", "durationMs"] as const;

/** Head, subject and tail together name every field of a record (a compile-time check). */
type UncoveredAuditKeys = Exclude<
  keyof AuditRecord,
  (typeof AUDIT_HEAD_KEYS)[number] | keyof AuditSubject | (typeof AUDIT_TAIL_KEYS)[number]
>;
const auditKeysCovered: [UncoveredAuditKeys] extends [never] ? true : UncoveredAuditKeys = true;
void auditKeysCovered;

/** What {@link buildAuditRecord} needs from a served request (absent facts may be passed as `undefined`). */
export interface AuditFacts {
  readonly requestId: string;
  readonly method: string;
  readonly route: RequestRoute["route"];
  readonly path?: string | undefined;
  readonly sourceIp: string;
  readonly pod?: PodRef | undefined;
  readonly identity?: string | undefined;
  readonly clientId?: string | undefined;
  readonly resource?: string | undefined;
  /** The memoised decision's subject; when given, it supplies the subject fields instead of the ones above. */
  readonly subject?: AuditSubject | undefined;
  readonly decision: string;
  readonly reason?: string | undefined;
  readonly status: number;
  readonly cache?: CacheResult | undefined;
  readonly upstreamMs?: number | undefined;
  readonly waitedMs?: number | undefined;
  readonly durationMs: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The subject of a memoised decision (a token request from `sourceIp`). */
export function auditSubject(facts: {
  readonly sourceIp: string;
  readonly pod: PodRef;
  readonly identity?: string | undefined;
  readonly clientId?: string | undefined;
  readonly resource?: string | undefined;
}): AuditSubject {
  const subject: Mutable<AuditSubject> = {
    route: "token",
    sourceIp: facts.sourceIp,
    podUid: facts.pod.uid,
    podNamespace: facts.pod.namespace,
    podName: facts.pod.name,
  };
  if (facts.identity !== undefined) subject.identity = facts.identity;
  if (facts.clientId !== undefined) subject.clientId = facts.clientId;
  if (facts.resource !== undefined) subject.resource = facts.resource;
  return Object.freeze(subject);
}

/**
 * The audit record of a request, fields in the documented order. Built field by field rather than with
 * spreads: it runs for every request, and each spread of an optional field would allocate an object.
 */
export function buildAuditRecord(facts: AuditFacts): AuditRecord {
  // Assigned in field order, since JSON keeps insertion order; every required field is set below.
  const record = { audit: true, requestId: facts.requestId, method: facts.method } as Mutable<AuditRecord>;
  const subject = facts.subject;
  if (subject !== undefined) {
    record.route = subject.route;
    if (subject.path !== undefined) record.path = subject.path;
    record.sourceIp = subject.sourceIp;
    if (subject.podUid !== undefined) record.podUid = subject.podUid;
    if (subject.podNamespace !== undefined) record.podNamespace = subject.podNamespace;
    if (subject.podName !== undefined) record.podName = subject.podName;
    if (subject.identity !== undefined) record.identity = subject.identity;
    if (subject.clientId !== undefined) record.clientId = subject.clientId;
    if (subject.resource !== undefined) record.resource = subject.resource;
  } else {
    record.route = facts.route;
    if (facts.path !== undefined) record.path = facts.path;
    record.sourceIp = facts.sourceIp;
    if (facts.pod !== undefined) {
      record.podUid = facts.pod.uid;
      record.podNamespace = facts.pod.namespace;
      record.podName = facts.pod.name;
    }
    if (facts.identity !== undefined) record.identity = facts.identity;
    if (facts.clientId !== undefined) record.clientId = facts.clientId;
    if (facts.resource !== undefined) record.resource = facts.resource;
  }
  record.decision = facts.decision;
  if (facts.reason !== undefined) record.reason = facts.reason;
  record.status = facts.status;
  record.cacheHit = facts.cache === "hit" || facts.cache === "refresh";
  if (facts.cache !== undefined) record.cache = facts.cache;
  if (facts.upstreamMs !== undefined) record.upstreamMs = facts.upstreamMs;
  if (facts.waitedMs !== undefined) record.waitedMs = facts.waitedMs;
  record.durationMs = facts.durationMs;
  return record;
}

/** The message of every audit line (one string to search for). */
export const AUDIT_MESSAGE = "nmi decision";
