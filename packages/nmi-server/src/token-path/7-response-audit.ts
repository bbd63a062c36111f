import {
  METRIC,
  NMI_OPERATION,
  toImdsResponse,
  bindMetric,
  type BoundMetric,
  type ImdsResponse,
  type LoggerPort,
  type MetricLabels,
  type MetricsPort,
  type NmiOutcome,
  type PodRef,
  type RequestRoute,
} from "@podid/core";
import type { ForwardedResponse } from "../imds-forwarder.js";
import { BoundedLabel } from "@podid/daemon-shell";
import { NMI_METRIC } from "../nmi-metrics.js";

/**
 * Token path, step 7 of 8 — the response and its record. Every flow ends in a {@link FlowResult}; this file
 * renders it as the reply (IMDS's JSON shape through core's `toImdsResponse`), builds the request's audit
 * record (one per request: who asked — pod UID, namespace/name, source IP — for what, what was decided and
 * how it was served; never a token or secret; docs/compatibility.md#audit-record) and records the request's
 * metrics. The vocabulary the earlier steps fill in ({@link Trace}, {@link CacheResult}) is defined here,
 * where it is consumed.
 * @packageDocumentation
 */

/** How the token cache answered: from memory, from memory with a refresh started, by joining, by fetching, or a replayed refusal. */
export type CacheResult = "hit" | "refresh" | "joined" | "miss" | "rejection";

/** Why an assignment wait ended (`assigned` when the identity became Assigned). */
export type WaitWake = "changed" | "timeout" | "aborted";

/**
 * Facts collected while serving one request, for its audit record and metrics. Every field is present from the
 * start (see {@link newTrace}): the flows fill in different ones, and traces with one shape keep every read and
 * write of them cheap (with fields added as they were learnt, each flow made traces of another shape, and the
 * recorder, which reads them all for every request, met several).
 */
export interface Trace {
  /** Who asked for what, shared by every token request with the same one (see {@link AuditSubjects}). */
  subject: AuditSubject | undefined;
  pod: PodRef | undefined;
  identity: string | undefined;
  clientId: string | undefined;
  resource: string | undefined;
  cache: CacheResult | undefined;
  upstreamMs: number | undefined;
  waitedMs: number | undefined;
  waitOutcome: WaitWake | "assigned" | undefined;
}

/** A trace with nothing learnt yet. */
export function newTrace(): Trace {
  return {
    subject: undefined,
    pod: undefined,
    identity: undefined,
    clientId: undefined,
    resource: undefined,
    cache: undefined,
    upstreamMs: undefined,
    waitedMs: undefined,
    waitOutcome: undefined,
  };
}

/** How a flow ended. */
export type FlowResult =
  /** A final outcome rendered with core's `toImdsResponse`. */
  | { readonly kind: "outcome"; readonly outcome: NmiOutcome }
  /** IMDS's own answer to a forwarded request. */
  | { readonly kind: "forwarded"; readonly response: ForwardedResponse }
  /** A response core has no outcome for (upstream unreachable). */
  | { readonly kind: "response"; readonly decision: string; readonly response: ImdsResponse };

/** A final outcome as a flow result. */
export function outcome(o: NmiOutcome): FlowResult {
  return { kind: "outcome", outcome: o };
}

/** The answer to every request once shutdown has begun (503: SDKs retry it). */
export const SHUTTING_DOWN: FlowResult = outcome({ kind: "tokenFailed", error: { kind: "unavailable", message: "NMI is shutting down; retry" } });

/** What to send back. */
export type NmiReply =
  | { readonly kind: "imds"; readonly response: ImdsResponse; readonly closeConnection: boolean }
  | { readonly kind: "forwarded"; readonly response: ForwardedResponse };

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
 * The fields, from `route` to `resource`, that every token request with the same caller, identity and resource
 * shares: who asked for what. Kept by content ({@link AuditSubjects}); its field order is the record's.
 */
export type AuditSubject = Pick<AuditRecord, "route" | "path" | "sourceIp" | "podUid" | "podNamespace" | "podName" | "identity" | "clientId" | "resource">;

/** The fields before the subject, in order. */
const AUDIT_HEAD_KEYS = ["audit", "requestId", "method"] as const;
/** The fields after the subject, in order. */
const AUDIT_TAIL_KEYS = ["decision", "reason", "status", "cacheHit", "cache", "upstreamMs", "waitedMs", "durationMs"] as const;

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
  /** The request's shared subject (see {@link AuditSubjects}); when given, it supplies the subject fields instead of the ones above. */
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

/** A new subject of a token request from `sourceIp` (through {@link AuditSubjects}, so equal ones are one object). */
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

/** Pods whose subjects {@link AuditSubjects} keeps at most; it is emptied when full (it refills with the pods that ask). */
const MAX_SUBJECT_PODS = 1024;
/** Subjects kept per pod at most (the oldest goes first): a pod chooses its resources, so it could otherwise grow its list. */
const MAX_SUBJECTS_PER_POD = 8;

/**
 * Audit subjects by content: the same subject object for every token request with the same who-asked-for-what
 * (source address, pod, identity, client id, resource), whether its decision was memoised or taken afresh.
 * Why: the audit writer serialises a subject once per object and the recorder finds its duration series once per
 * object; a request decided afresh (the memo emptied by a change, or off) otherwise had its whole record built and
 * passed through `JSON.stringify`, the largest single piece of a decided request's own work in the NMI benchmark
 * (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, tenth addendum). A subject's fields are fixed for a pod UID
 * and the rest is compared, so no change in the cluster can make a kept subject wrong and nothing is invalidated;
 * both bounds keep the memory small whatever pods send.
 */
export class AuditSubjects {
  readonly #byPod = new Map<string, AuditSubject[]>();

  /** The subject of a token request with these facts (an equal one made earlier, else a new one kept for later). */
  of(facts: Parameters<typeof auditSubject>[0]): AuditSubject {
    const { pod } = facts;
    let kept = this.#byPod.get(pod.uid);
    if (kept === undefined) {
      if (this.#byPod.size >= MAX_SUBJECT_PODS) this.#byPod.clear();
      kept = [];
      this.#byPod.set(pod.uid, kept);
    }
    for (const s of kept) {
      if (
        s.sourceIp === facts.sourceIp &&
        s.resource === facts.resource &&
        s.identity === facts.identity &&
        s.clientId === facts.clientId &&
        s.podName === pod.name &&
        s.podNamespace === pod.namespace
      ) {
        return s;
      }
    }
    const made = auditSubject(facts);
    if (kept.length >= MAX_SUBJECTS_PER_POD) kept.shift();
    kept.push(made);
    return made;
  }
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

/** Where audit records go. A writer may batch them (see `PinoAuditWriter`) as long as every record becomes one line, in order. */
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

/** `status_code` label values (HTTP statuses are few; the common ones are interned here). */
const STATUS_LABELS = new Map<number, string>();

/** The `status_code` label of a status. */
function statusLabel(status: number): string {
  let label = STATUS_LABELS.get(status);
  if (label === undefined) {
    label = String(status);
    if (STATUS_LABELS.size < 1000) STATUS_LABELS.set(status, label);
  }
  return label;
}

/** Kind of reason carried by an outcome, for the audit record. */
function reasonOf(o: NmiOutcome): string | undefined {
  switch (o.kind) {
    case "badRequest":
      return o.reason.kind === "rejectedPath" ? `rejectedPath:${o.reason.reason}` : o.reason.kind;
    case "callerUnknown":
      return o.error.kind;
    case "hostTokenDenied":
      return o.reason;
    case "hostTokenOutOfScope":
      return o.reason.kind;
    case "hostTokenScopeUnavailable":
      return o.error?.kind ?? "notLookedUp";
    case "notFound":
      return o.reason.kind;
    case "invalidIdentity":
      return o.reason;
    case "tokenFailed":
      return o.error.kind;
    case "secretFailed":
      return o.failure.kind;
    case "federatedRefused":
      return o.reason;
    case "serviceAccountTokenFailed":
      return o.error.kind === "mismatch" ? `mismatch:${o.error.claim}` : o.error.kind;
    default:
      return undefined;
  }
}

/** The request facts {@link RequestRecorder.finish} needs besides the flow's result. */
export interface FinishedRequest {
  readonly requestId: string;
  readonly method: string;
  readonly remoteAddress: string;
}

/** The reply and the audit record of one request. */
export interface ServedRequest {
  readonly reply: NmiReply;
  /** The facts of its audit record (`buildAuditRecord` renders them as the record). */
  readonly audit: AuditFacts;
}

/**
 * Turns a flow's result into the reply, and writes the request's audit record and metrics. The two labels
 * that come from the cluster (namespace, resource) are capped, so no pod can create unbounded series.
 */
export class RequestRecorder {
  readonly #audit: AuditWriter;
  readonly #metrics: MetricsPort;
  readonly #namespaceLabel = new BoundedLabel(200);
  readonly #resourceLabel = new BoundedLabel(50);
  /** Rendered replies by issued token (weak: they go with the tokens the cache drops; see {@link #issued}). */
  readonly #replies = new WeakMap<object, NmiReply>();
  /** The `decisions` counter's series per decision kind (a bounded set). */
  readonly #decisionCounters = new Map<string, BoundMetric>();
  /** The request-duration series of a 200 by memoised subject (weak: they go with the memoised decisions). */
  readonly #subjectDurations = new WeakMap<AuditSubject, BoundMetric>();

  /** A recorder writing to `audit` and `metrics`. */
  constructor(audit: AuditWriter, metrics: MetricsPort) {
    this.#audit = audit;
    this.#metrics = metrics;
  }

  /** The reply to a served request (`closeConnection` once shutdown began); writes its audit record and metrics. */
  finish(request: FinishedRequest, route: RequestRoute, result: FlowResult, trace: Trace, durationMs: number, closeConnection: boolean): ServedRequest {
    const reply: NmiReply =
      result.kind === "forwarded"
        ? { kind: "forwarded", response: result.response }
        : result.kind === "outcome" && !closeConnection && result.outcome.kind === "issued" && result.outcome.shape === "imds"
          ? this.#issued(result.outcome)
          : { kind: "imds", response: result.kind === "outcome" ? toImdsResponse(result.outcome) : result.response, closeConnection };
    const audit: AuditFacts = {
      requestId: request.requestId,
      method: request.method,
      route: route.route,
      path: route.route === "proxy" || route.route === "instance" ? route.path.slice(0, 256) : undefined,
      sourceIp: request.remoteAddress,
      subject: trace.subject,
      pod: trace.pod,
      identity: trace.identity,
      clientId: trace.clientId,
      resource: trace.resource,
      decision: result.kind === "outcome" ? result.outcome.kind : result.kind === "forwarded" ? "forwarded" : result.decision,
      reason: result.kind === "outcome" ? reasonOf(result.outcome) : undefined,
      status: reply.response.status,
      cache: trace.cache,
      upstreamMs: trace.upstreamMs,
      waitedMs: trace.waitedMs,
      durationMs,
    };
    this.#record(route, audit, trace);
    return { reply, audit };
  }

  /** Writes what is pending (shutdown). */
  flush(): void {
    this.#audit.flush();
  }

  /**
   * The reply issuing an IMDS-shaped token, rendered once per token object: a cached token is answered on every
   * hit, and core's rendering of it depends on the token alone.
   */
  #issued(issued: Extract<NmiOutcome, { kind: "issued"; shape: "imds" }>): NmiReply {
    let reply = this.#replies.get(issued.token);
    if (reply === undefined) {
      reply = { kind: "imds", response: toImdsResponse(issued), closeConnection: false };
      this.#replies.set(issued.token, reply);
    }
    return reply;
  }

  /** The request-duration labels of a request. */
  #durationLabels(route: RequestRoute, audit: AuditFacts): MetricLabels {
    const namespace = audit.subject?.podNamespace ?? audit.pod?.namespace ?? "";
    const resource = audit.subject?.resource ?? audit.resource ?? "";
    return {
      // A fixed set of routes: the original labelled with the raw path, which any pod could vary.
      operation_type: NMI_OPERATION[route.route],
      status_code: statusLabel(audit.status),
      namespace: this.#namespaceLabel.of(namespace),
      resource: audit.status === 200 ? this.#resourceLabel.of(resource) : "",
    };
  }

  /**
   * The request-duration series of a 200 served from a memoised decision, found once per subject: its labels
   * depend on the subject alone (its route, namespace and resource), and a bounded label's answer for a value never
   * changes.
   */
  #servedDuration(route: RequestRoute, subject: AuditSubject): BoundMetric {
    let series = this.#subjectDurations.get(subject);
    if (series === undefined) {
      const labels = this.#durationLabels(route, { requestId: "", method: "", route: route.route, sourceIp: "", subject, decision: "", status: 200, durationMs: 0 });
      series = bindMetric(this.#metrics, METRIC.nmiOperationsDuration, labels);
      this.#subjectDurations.set(subject, series);
    }
    return series;
  }

  /** The `decisions` counter's series for `decision`. */
  #decisionCounter(decision: string): BoundMetric {
    let series = this.#decisionCounters.get(decision);
    if (series === undefined) {
      series = bindMetric(this.#metrics, NMI_METRIC.decisions, { decision });
      this.#decisionCounters.set(decision, series);
    }
    return series;
  }

  #record(route: RequestRoute, audit: AuditFacts, trace: Trace): void {
    const metrics = this.#metrics;
    this.#audit.write(audit);
    const subject = audit.subject;
    if (subject !== undefined && audit.status === 200) this.#servedDuration(route, subject).observe(audit.durationMs / 1000);
    else metrics.observe(METRIC.nmiOperationsDuration, this.#durationLabels(route, audit), audit.durationMs / 1000);
    this.#decisionCounter(audit.decision).increment();
    if (trace.waitOutcome !== undefined && trace.waitedMs !== undefined) {
      metrics.observe(NMI_METRIC.assignmentWait, { outcome: trace.waitOutcome }, trace.waitedMs / 1000);
    }
  }
}
