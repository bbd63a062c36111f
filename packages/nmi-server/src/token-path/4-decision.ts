import {
  checkForwardedHeaders,
  checkMetadataHeader,
  decideHostTokenRequest,
  decideTokenRequest,
  findPodOnNode,
  findScopedPod,
  podRef,
  secretProviderClassesToRead,
  isFinalDecision,
  parseHostTokenRequest,
  parseTokenRequest,
  type AzureAssignedIdentity,
  type ClockPort,
  type EventRecorderPort,
  type IdentitySource,
  type LoggerPort,
  type MetricsPort,
  type NmiDecision,
  type NmiDecisionOptions,
  type PodRef,
  type PodView,
  type QueryParams,
  type ResourceEvent,
  type SecretProviderClassLookup,
  type SecretProviderClassReaderPort,
} from "@podid/core";
import { NMI_METRIC } from "../nmi-metrics.js";
import { callerChanged, callerStillBound, type Attributed, type ClusterView, type PathRequest } from "./3-attribution.js";
import {
  fetchOf,
  obtainToken,
  prepareFetch,
  rateLimited,
  type CallerRecheck,
  type HitHolder,
  type DecisionMemo,
  type MemoisedDecision,
  type MemoKey,
  type TokenCacheParts,
} from "./5-token-cache.js";
import { outcome, SHUTTING_DOWN, type AuditSubjects, type FlowResult, type Trace, type WaitWake } from "./7-response-audit.js";

/**
 * Token path, step 4 of 8 — the decision: which identity the caller gets. Core's pure functions decide
 * (`parseTokenRequest`, `decideTokenRequest`, `decideHostTokenRequest`) from the request, the caller
 * (step 3) and the informer caches; this file only runs them in a loop. When core says `wait` (standard
 * mode: the identity is not Assigned yet), the request sleeps on the {@link AssignmentWatch} and is
 * decided again on the next relevant change, re-attributing the caller and binding the request to the
 * pod's UID. A decision taken at once with unchanged caches is memoised (step 5's `DecisionMemo`), so an
 * identical request later skips deciding: {@link serveMemoised}.
 * @packageDocumentation
 */

/** The parts of the engine a decision uses (the engine in step 2 builds them once). */
export interface DecisionParts extends TokenCacheParts {
  readonly view: ClusterView;
  readonly watch: AssignmentWatch;
  readonly clock: ClockPort;
  readonly metrics: MetricsPort;
  readonly options: NmiDecisionOptions;
  /** Token-path decisions reused while the caches are unchanged. */
  readonly memo: DecisionMemo<MemoisedDecision>;
  /** The audit subjects of token requests, shared by content (memoised and freshly decided alike). */
  readonly subjects: AuditSubjects;
  /** Where NMI records Events (a refused forged or stale AzureAssignedIdentity); none in some tests. */
  readonly events?: EventRecorderPort;
  readonly logger?: LoggerPort;
  /**
   * Reads the SecretProviderClasses that decide whether a pod with a Secrets Store CSI volume is in scope of
   * `--host-token=scoped`; without it such a pod is answered 503 (the class cannot be read).
   */
  readonly secretProviderClasses?: SecretProviderClassReaderPort;
}

/** An identity source with nothing in it, for decisions where the caller could not be attributed. */
const EMPTY_SOURCE: IdentitySource = { mode: "standard", assignedIdentities: [], bindings: [], identities: [], options: { forceNamespaced: false } };

/** After a wait for upstream: is the pod at `sourceIp` still the one the decision was for? (step 3's rule) */
function recheckAt(parts: DecisionParts, sourceIp: string): CallerRecheck {
  return (expected) => callerStillBound(parts.metrics, expected, parts.view.attribute(sourceIp));
}

/**
 * True when a token-path request's decision may be memoised: both header checks core's token decision reads
 * (`Metadata: true`, no forwarding header) pass, so the decision depends on the request only through its source
 * address and raw target, its memo key ({@link memoKeyOf}). A request failing one is refused by core, and
 * refusals are never memoised, so it is always decided afresh.
 */
export function isMemoisable(parts: DecisionParts, req: Pick<PathRequest, "headers">): boolean {
  return checkMetadataHeader(req.headers, parts.options).ok && checkForwardedHeaders(req.headers).ok;
}

/** Where a memoisable request's decision is memoised. */
export function memoKeyOf(req: Pick<PathRequest, "remoteAddress" | "rawTarget">): MemoKey {
  return { source: req.remoteAddress, target: req.rawTarget };
}

/**
 * Serves a token request whose decision was memoised: rate limit, then the cache. Synchronous when the
 * token is in memory (nearly every request), so the hot path allocates no promise.
 */
export function serveMemoised(parts: DecisionParts, memo: MemoisedDecision, trace: Trace): FlowResult | Promise<FlowResult> {
  trace.subject = memo.subject;
  const limited = rateLimited(parts, memo.decision);
  if (limited !== undefined) return limited;
  // The memo key includes the source address, so the decision's re-check and fetch serve every request of it.
  return obtainToken(parts, memo.decision, memo.prepared, trace, memo.recheck, memo.fetch, memo.hits);
}

/**
 * Serves the IMDS token path. Synchronous when core decides at once and the token is in memory (a request
 * with no wait costs no promise); a wait for assignment or upstream returns a promise.
 */
export function serveToken(parts: DecisionParts, req: PathRequest, query: QueryParams, trace: Trace, memoKey?: MemoKey): FlowResult | Promise<FlowResult> {
  const request = parseTokenRequest(query, req.headers, parts.options);
  if (request.ok) trace.resource = request.value.resource;
  const generation = parts.memo.generation;
  let decisions = 0;
  const decided = decideWithWaits(parts, req, trace, (elapsedMs) => {
    decisions += 1;
    const caller = parts.view.attribute(req.remoteAddress);
    const namespace = caller.ok ? caller.value.metadata.namespace : "";
    return decideTokenRequest({
      request,
      caller,
      exceptions: caller.ok ? parts.view.exceptions(namespace) : [],
      managedIdentities: caller.ok ? parts.view.azureIdentities() : [],
      identities: caller.ok ? parts.view.identitySource(namespace) : EMPTY_SOURCE,
      elapsedMs,
      options: parts.options,
    });
  });
  const serveDecided = (settled: FlowResult | NmiDecision): FlowResult | Promise<FlowResult> => {
    if (isFlowResult(settled)) return settled;
    const recheck = recheckAt(parts, req.remoteAddress);
    if (settled.kind === "fetch" || settled.kind === "excepted") {
      const prepared = prepareFetch(settled);
      if (prepared === undefined) return outcome({ kind: "badRequest", reason: { kind: "missingResource" } });
      if (request.ok) {
        // The same fields the trace collects (the caller, the prepared identity, the resource), shared by content.
        const subject = parts.subjects.of({ sourceIp: req.remoteAddress, pod: settled.caller, identity: prepared.identityLabel, clientId: prepared.clientId, resource: request.value.resource });
        trace.subject = subject;
        // Only a decision taken at once (no wait) and with unchanged caches is memoised.
        if (memoKey !== undefined && decisions === 1) {
          const fetch = fetchOf(parts, prepared, trace.pod?.uid ?? "");
          const hits: HitHolder = {};
          parts.memo.set(memoKey, { decision: settled, prepared, subject, recheck, fetch, hits }, generation);
          return obtainToken(parts, settled, prepared, trace, recheck, fetch, hits);
        }
      }
      return obtainToken(parts, settled, prepared, trace, recheck);
    }
    return perform(parts, settled, trace, recheck);
  };
  return decided instanceof Promise ? decided.then(serveDecided) : serveDecided(decided);
}

/** No SecretProviderClass looked up. */
const NO_CLASSES: ReadonlyMap<string, SecretProviderClassLookup> = new Map();

/**
 * `--host-token=scoped`: reads the SecretProviderClasses core's `secretProviderClassesToRead` names for the
 * pod the request names (none for a pod out of scope anyway, or in scope through a FlexVolume), so core's
 * decision can see them. Sets the audit record's pod as soon as the pod is known.
 */
async function scopeClasses(parts: DecisionParts, namespace: string, name: string, trace: Trace): Promise<ReadonlyMap<string, SecretProviderClassLookup>> {
  const pod = findScopedPod(namespace, name, parts.view.podsOnNode(), parts.view.nodeName);
  trace.pod = pod.ok ? podRef(pod.value) : { namespace, name, uid: "" };
  const names = pod.ok ? secretProviderClassesToRead(pod.value) : [];
  const reader = parts.secretProviderClasses;
  if (names.length === 0 || reader === undefined) return NO_CLASSES;
  const lookups = await Promise.all(names.map(async (spc) => [spc, await reader.read(namespace, spc)] as const));
  return new Map(lookups);
}

/** Serves `/host/token` (as `--host-token` says: scoped, unscoped, or off, where core refuses it). */
export async function serveHostToken(parts: DecisionParts, req: PathRequest, query: QueryParams, trace: Trace): Promise<FlowResult> {
  const request = parseHostTokenRequest(query, req.headers, req.remoteAddress);
  if (request.ok) trace.resource = request.value.resource;
  const secretProviderClasses =
    request.ok && parts.options.hostTokenMode === "scoped" ? await scopeClasses(parts, request.value.podNamespace, request.value.podName, trace) : NO_CLASSES;
  // After waiting for upstream, the named pod is looked up again with core's rule (live pod of this node).
  const findNamed = (): Attributed =>
    request.ok
      ? findPodOnNode(request.value.podNamespace, request.value.podName, parts.view.podsOnNode(), { nodeName: parts.view.nodeName })
      : { ok: false, error: { kind: "namedPodNotFound", namespace: "", name: "" } };
  const recheck: CallerRecheck = (expected) => callerStillBound(parts.metrics, expected, findNamed());
  const decided = await decideWithWaits(parts, req, trace, (elapsedMs) =>
    decideHostTokenRequest({
      request,
      podsOnNode: parts.view.podsOnNode(),
      attribution: { nodeName: parts.view.nodeName },
      identities: request.ok ? parts.view.identitySource(request.value.podNamespace) : EMPTY_SOURCE,
      elapsedMs,
      options: parts.options,
      secretProviderClasses,
    }),
  );
  if (isFlowResult(decided)) return decided;
  return perform(parts, decided, trace, recheck);
}

// ── the decide–wait loop ──

/**
 * How long the request has been served, as core's decision sees it. With `--set-retry-after-header` the
 * request is decided as if its wait budget were spent, so a not-yet-assigned identity is answered with
 * 503 + `Retry-After` at once instead of waiting; likewise after the client went away.
 */
function elapsedFor(parts: DecisionParts, startedMs: number, giveUp: boolean): number {
  return giveUp || parts.options.setRetryAfterHeader ? Number.POSITIVE_INFINITY : parts.clock.now() - startedMs;
}

/**
 * The decide–wait loop shared by both paths. `decide` is called with the elapsed time and returns core's
 * decision; after a wait the caller must still be the pod the request waited for. The first decision is
 * taken synchronously, and only a `wait` makes the loop asynchronous.
 */
function decideWithWaits(
  parts: DecisionParts,
  req: PathRequest,
  trace: Trace,
  decide: (elapsedMs: number) => NmiDecision,
): FlowResult | NmiDecision | Promise<FlowResult | NmiDecision> {
  const startedMs = parts.clock.now();
  const generation = parts.watch.generation;
  const decision = decide(elapsedFor(parts, startedMs, false));
  if ("caller" in decision) trace.pod = decision.caller;
  const limited = rateLimited(parts, decision);
  if (limited !== undefined) return limited;
  if (decision.kind !== "wait") return decision;
  return waitAndDecide(parts, req, trace, decide, { startedMs, generation, waiting: decision });
}

/** Where {@link waitAndDecide} starts: the first decision (a wait), when it was taken and the watch's generation before it. */
interface FirstWait {
  readonly startedMs: number;
  readonly generation: number;
  readonly waiting: Extract<NmiDecision, { readonly kind: "wait" }>;
}

/** The rest of {@link decideWithWaits} after a first `wait`: sleep on the watch, decide again, re-check the caller. */
async function waitAndDecide(
  parts: DecisionParts,
  req: PathRequest,
  trace: Trace,
  decide: (elapsedMs: number) => NmiDecision,
  first: FirstWait,
): Promise<FlowResult | NmiDecision> {
  const { startedMs } = first;
  let { generation, waiting } = first;
  // The pod the request waits for: every later decision must name it (same UID).
  let boundTo: PodRef = waiting.caller;
  let giveUp = false;
  for (;;) {
    const wake = await parts.watch.wait(waiting.caller, generation, waiting.remainingMs, req.signal);
    if (wake === "aborted") {
      trace.waitOutcome = "aborted";
      trace.waitedMs = parts.clock.now() - startedMs;
      if (req.shutdownSignal.aborted) {
        return SHUTTING_DOWN;
      }
      // The client went away (the original answered 404 after "context canceled"): decide once more as if
      // the budget were spent, so the record says what the answer would have been.
      giveUp = true;
    }
    generation = parts.watch.generation;
    const decision = decide(elapsedFor(parts, startedMs, giveUp));
    if ("caller" in decision) {
      trace.pod = decision.caller;
      if (decision.caller.uid === "" || decision.caller.uid !== boundTo.uid) return callerChanged(parts.metrics, boundTo, decision.caller);
    }
    if (decision.kind !== "wait") {
      trace.waitedMs = parts.clock.now() - startedMs;
      trace.waitOutcome ??= decision.kind === "fetch" ? "assigned" : "timeout";
      return decision;
    }
    boundTo = decision.caller;
    waiting = decision;
  }
}

/** Narrows the loop's result. */
function isFlowResult(value: FlowResult | NmiDecision): value is FlowResult {
  return value.kind === "outcome" || value.kind === "forwarded" || value.kind === "response";
}

/** The refusal core reports when an AAI is not backed by the live bindings and identities. */
type UnbackedReport = Extract<Extract<NmiDecision, { kind: "notFound" }>["reason"], { kind: "unbackedAssignment" }>;

/**
 * A token refused because an AzureAssignedIdentity names the pod without a live binding and identity
 * granting it: a Warning Event on that object (Events are aggregated by the recorder), a warning line and
 * a metric, so a forged object is visible to operators and not only to the refused pod.
 */
function reportUnbacked(parts: DecisionParts, caller: PodRef, reason: UnbackedReport): void {
  const { assignedIdentity, identity, why } = reason;
  parts.metrics.increment(NMI_METRIC.unbackedAssignment, { reason: why });
  parts.logger?.warn({ pod: `${caller.namespace}/${caller.name}`, assignedIdentity, identity, why }, "refused a token: AzureAssignedIdentity not backed by a live binding and identity");
  parts.events?.record(
    { kind: "AzureAssignedIdentity", apiVersion: "aadpodidentity.k8s.io/v1", namespace: assignedIdentity.namespace, name: assignedIdentity.name },
    "Warning",
    "UnbackedAssignedIdentity",
    `NMI refused pod ${caller.namespace}/${caller.name} a token for ${identity.namespace}/${identity.name}: no live binding and identity grant it (${why})`,
  );
}

/** Turns a non-waiting decision into a flow result (synchronously unless a token must be fetched). */
function perform(parts: DecisionParts, decision: NmiDecision, trace: Trace, recheck: CallerRecheck): FlowResult | Promise<FlowResult> {
  if (decision.kind === "fetch" || decision.kind === "excepted") {
    const prepared = prepareFetch(decision);
    if (prepared === undefined) return outcome({ kind: "badRequest", reason: { kind: "missingResource" } });
    return obtainToken(parts, decision, prepared, trace, recheck);
  }
  if (isFinalDecision(decision)) {
    if (decision.kind === "notFound" && decision.reason.kind === "unbackedAssignment") reportUnbacked(parts, decision.caller, decision.reason);
    return outcome(decision);
  }
  // Core never answers a token request with `forward`, and the loop resolves every `wait`.
  throw new Error(`invariant: ${decision.kind} decision on a token path`);
}

// ── the assignment wait ──

interface Waiter {
  readonly namespace: string;
  readonly name: string;
  readonly wake: (why: WaitWake) => void;
}

/**
 * The event-driven wait for an identity that MIC is still assigning. The original polled its AAI cache
 * every 5 s up to 20 times; here a waiting request sleeps until an AzureAssignedIdentity or the pod itself
 * changes (or its remaining budget runs out, or the client goes away) and is then decided again — so it
 * completes as soon as the AAI turns `Assigned`. Every relevant event bumps {@link generation}; a request
 * reads the generation before it decides and passes it to {@link wait}, so a change that lands between
 * the decision and the wait is never missed.
 */
export class AssignmentWatch {
  readonly #clock: ClockPort;
  readonly #waiters = new Set<Waiter>();
  #generation = 0;

  /** A watch timing waits on `clock`. */
  constructor(clock: ClockPort) {
    this.#clock = clock;
  }

  /** Increases on every event fed in. */
  get generation(): number {
    return this.#generation;
  }

  /** Requests currently waiting. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Feed an AzureAssignedIdentity event: wakes the waiters of the pod it names (before or after the change). */
  assignedIdentityChanged(event: ResourceEvent<AzureAssignedIdentity>): void {
    this.#generation += 1;
    const names = [event.object, event.previous].filter((o) => o !== undefined).map((o) => [o.spec.podNamespace, o.spec.pod] as const);
    this.#wakeMatching((w) => names.some(([ns, name]) => w.namespace === ns && w.name === name));
  }

  /** Feed a pod event: wakes the waiters of that pod (its labels, phase or existence may have changed). */
  podChanged(event: ResourceEvent<PodView>): void {
    this.#generation += 1;
    const { namespace, name } = event.object.metadata;
    this.#wakeMatching((w) => w.namespace === namespace && w.name === name);
  }

  /**
   * Resolves `changed` at once if anything changed since `sinceGeneration`, otherwise on the next change
   * concerning `pod`; `timeout` after `timeoutMs`; `aborted` when `signal` fires.
   */
  wait(pod: PodRef, sinceGeneration: number, timeoutMs: number, signal: AbortSignal): Promise<WaitWake> {
    if (signal.aborted) return Promise.resolve("aborted");
    if (this.#generation !== sinceGeneration) return Promise.resolve("changed");
    return new Promise<WaitWake>((resolve) => {
      const waiter: Waiter = {
        namespace: pod.namespace,
        name: pod.name,
        wake: (why) => {
          if (!this.#waiters.delete(waiter)) return;
          timer.cancel();
          signal.removeEventListener("abort", onAbort);
          resolve(why);
        },
      };
      const onAbort = (): void => waiter.wake("aborted");
      const timer = this.#clock.setTimer(Math.max(0, timeoutMs), () => waiter.wake("timeout"));
      this.#waiters.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #wakeMatching(matches: (w: Waiter) => boolean): void {
    for (const waiter of [...this.#waiters]) if (matches(waiter)) waiter.wake("changed");
  }
}
