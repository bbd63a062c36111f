import {
  admitUpstream,
  cancelFair,
  cancelQueued,
  completeFederatedPlan,
  completeFetchPlan,
  createFairQueue,
  createUpstreamBudget,
  dequeueFair,
  enqueueFair,
  err,
  METRIC,
  ok,
  releaseUpstream,
  serviceAccountTokenRequestOf,
  startQueued,
  toImdsTokenBody,
  upstreamThrottled,
  type ClockPort,
  type FairQueueState,
  type ImdsTokenBody,
  type KubeReaderPort,
  type MetricsPort,
  type Result,
  type SecretFailure,
  type ServiceAccountTokenError,
  type ServiceAccountTokenReaderPort,
  type TimerHandle,
  type TokenFetchPlan,
  type TokenSourceError,
  type TokenSourcePort,
  type TokenSourceRequest,
  type UpstreamBudgetConfig,
  type UpstreamBudgetState,
} from "@podid/core";
import { IMDS_OPERATION, KUBE_OPERATION, NMI_METRIC } from "../nmi-metrics.js";

/**
 * Token path, step 6 of 8 — upstream. What the token cache runs on a miss: one fetch for a fetch plan.
 * For types 1 and 2 it reads the identity's Secret (`KubeReaderPort.readSecret`) and completes the plan
 * with core's `completeFetchPlan`; then it calls the token source through the {@link UpstreamGate}, so NMI
 * itself stays below IMDS's managed-identity limits (20 requests/s, 5 concurrent per VM; core's budget keeps
 * a margin: 15/s, 4) however many pods ask at once, serving the pods' queued misses round robin; then it normalises the answer to IMDS's all-string shape with core's
 * `toImdsTokenBody` (so `expires_on` and `client_id` are always there).
 * @packageDocumentation
 */

/**
 * Why a token could not be fetched: the token source failed, the identity's Secret was unusable, or (type 3)
 * the calling pod's service-account token was.
 */
export type FetchFailure =
  | { readonly kind: "token"; readonly error: TokenSourceError }
  | { readonly kind: "secret"; readonly failure: SecretFailure }
  | { readonly kind: "serviceAccountToken"; readonly error: ServiceAccountTokenError };

/** What one upstream fetch produced, and how long the upstream call took. */
export interface TokenFetchResult {
  readonly result: Result<ImdsTokenBody, FetchFailure>;
  /** Milliseconds spent in the token source (absent when it was never called). */
  readonly upstreamMs?: number;
}

/** Performs one upstream fetch; `signal` aborts when the fetch is abandoned or the cache closes. */
export type TokenFetch = (signal: AbortSignal) => Promise<TokenFetchResult>;

/** The `imds_operations_*` operation type of a token-source request (the original's three values). */
function imdsOperationOf(request: TokenSourceRequest): string {
  if (request.kind !== "managedIdentity") return IMDS_OPERATION.servicePrincipal;
  return request.selector === undefined ? IMDS_OPERATION.systemAssigned : IMDS_OPERATION.userAssigned;
}

/** Dependencies of {@link TokenFetcher}. */
export interface TokenFetcherDeps {
  readonly kube: KubeReaderPort;
  readonly tokenSource: TokenSourcePort;
  readonly gate: UpstreamGate;
  readonly clock: ClockPort;
  readonly metrics: MetricsPort;
  /** Reads the calling pod's projected service-account token for a federated plan (absent: every such fetch fails, 503). */
  readonly serviceAccountTokens?: ServiceAccountTokenReaderPort;
}

/** The answer to a federated fetch when NMI was composed without a token reader. */
const NO_TOKEN_READER: ServiceAccountTokenError = { kind: "unreadable", reason: "this NMI reads no service-account tokens (no kubelet pods directory)" };

/** Builds the {@link TokenFetch} the cache runs on a miss. */
export class TokenFetcher {
  readonly #deps: TokenFetcherDeps;

  /** A fetcher over the given ports. */
  constructor(deps: TokenFetcherDeps) {
    this.#deps = deps;
  }

  /**
   * The fetch for `plan`. `clientIdHint` fills `client_id` when the upstream answer lacks it (the
   * identity's client id; `""` for the node identity, where IMDS's own `client_id` is used). `queueKey`
   * is the pod whose miss starts the fetch: the gate's fair queue is per pod.
   */
  fetchFor(plan: TokenFetchPlan, clientIdHint: string, queueKey: string): TokenFetch {
    return (signal) => this.#fetch(plan, clientIdHint, queueKey, signal);
  }

  async #fetch(plan: TokenFetchPlan, clientIdHint: string, queueKey: string, signal: AbortSignal): Promise<TokenFetchResult> {
    const { kube, tokenSource, gate, clock, metrics } = this.#deps;
    let request: TokenSourceRequest;
    if (plan.kind === "managedIdentity") {
      request = plan.request;
    } else if (plan.kind === "federated") {
      // The calling pod's own token, checked to be its own, is the assertion (docs/adr/0021-federated-identities.md).
      const read = this.#deps.serviceAccountTokens;
      const token = read === undefined ? err(NO_TOKEN_READER) : await read.read(serviceAccountTokenRequestOf(plan));
      if (!token.ok) return { result: err({ kind: "serviceAccountToken", error: token.error }) };
      request = completeFederatedPlan(plan, token.value.token);
    } else {
      const secret = await kube.readSecret(plan.secretRef.namespace, plan.secretRef.name);
      if (!secret.ok) {
        metrics.increment(METRIC.kubernetesApiOperationsErrorsCount, { operation_type: KUBE_OPERATION.getSecret });
        return { result: err({ kind: "secret", failure: { kind: "secretReadFailed", secretRef: plan.secretRef, error: secret.error } }) };
      }
      const completed = completeFetchPlan(plan, secret.value);
      if (!completed.ok) return { result: err({ kind: "secret", failure: completed.error }) };
      request = completed.value;
    }
    const operation = imdsOperationOf(request);
    let upstreamMs = 0;
    const gated = await gate.run(queueKey, async () => {
      metrics.increment(NMI_METRIC.upstreamCalls, { operation_type: operation });
      const started = clock.now();
      try {
        return await tokenSource.acquire(request, signal);
      } finally {
        upstreamMs = clock.now() - started;
        metrics.observe(METRIC.imdsOperationsDuration, { operation_type: operation }, upstreamMs / 1000);
      }
    });
    if (gated.kind === "rejected") {
      metrics.increment(NMI_METRIC.rateLimited, { scope: "upstream" });
      const message = "too many token requests in flight to the metadata service; retry later";
      return { result: err({ kind: "token", error: { kind: "throttled", retryAfterMs: gated.retryAfterMs, message } }) };
    }
    const answer = gated.value;
    if (!answer.ok) {
      metrics.increment(METRIC.imdsOperationsErrorsCount, { operation_type: operation });
      if (answer.error.kind === "throttled") gate.throttled(answer.error.retryAfterMs);
      return { result: err({ kind: "token", error: answer.error }), upstreamMs };
    }
    const body = toImdsTokenBody(answer.value, { nowMs: clock.now(), clientId: clientIdHint, resource: request.resource });
    if (!body.ok) {
      metrics.increment(METRIC.imdsOperationsErrorsCount, { operation_type: operation });
      return { result: err({ kind: "token", error: { kind: "unavailable", message: `unusable token response: ${body.error.reason}` } }), upstreamMs };
    }
    return { result: ok(body.value), upstreamMs };
  }
}

/** The result of {@link UpstreamGate.run}. */
export type GateResult<T> =
  | { readonly kind: "ran"; readonly value: T }
  /** Not run: the queue was full (or the gate closed); answer 429 with this delay. */
  | { readonly kind: "rejected"; readonly retryAfterMs: number };

interface Waiter {
  readonly start: () => void;
  readonly refuse: (retryAfterMs: number) => void;
}

/**
 * The async driver of core's upstream budget (15 starts/s, 4 in flight: a margin below IMDS's 20/s and 5)
 * and of core's fair queue: callers over the limit wait in their pod's own line, and the lines are served
 * round robin (a pod with nothing queued goes before the backlogs), so one pod's misses delay another pod's
 * first call by at most one opening of the budget. When the queue is full a caller may push out the newest
 * call of the longest line, otherwise it is refused with a `Retry-After`. Core's defaults apply (NMI has no
 * flag for them).
 */
export class UpstreamGate {
  #state: UpstreamBudgetState;
  readonly #clock: ClockPort;
  readonly #lines = new Map<string, Waiter[]>();
  #fair: FairQueueState = createFairQueue();
  #timer: TimerHandle | undefined;
  #timerDueMs = Number.POSITIVE_INFINITY;
  #closed = false;

  /** A gate over core's upstream budget with its defaults (`config` overrides them in tests). */
  constructor(clock: ClockPort, config: Partial<UpstreamBudgetConfig> = {}) {
    this.#clock = clock;
    this.#state = createUpstreamBudget(config);
  }

  /** Calls in flight right now (for tests and metrics). */
  get inFlight(): number {
    return this.#state.inFlight;
  }

  /** Callers waiting for capacity. */
  get queued(): number {
    return this.#fair.total;
  }

  /**
   * Runs `task` once the budget admits it (immediately, or after queueing in `key`'s line), or refuses. The
   * slot is released when `task` settles, whatever the outcome.
   */
  async run<T>(key: string, task: () => Promise<T>): Promise<GateResult<T>> {
    if (this.#closed) return { kind: "rejected", retryAfterMs: this.#state.config.minRetryAfterMs };
    const step = admitUpstream(this.#state, this.#clock.now());
    this.#state = step.state;
    const decision = step.decision;
    if (decision.kind !== "start") {
      // The budget counts the queue; the fair queue orders it (and may swap a newcomer for a backlog's newest).
      const queued = enqueueFair(this.#fair, key, decision.kind === "queue" ? Number.POSITIVE_INFINITY : this.#state.config.maxQueued);
      if (queued.outcome.kind === "full") {
        return { kind: "rejected", retryAfterMs: decision.kind === "rejectWithRetryAfter" ? decision.retryAfterMs : this.#state.config.minRetryAfterMs };
      }
      this.#fair = queued.state;
      if (queued.outcome.kind === "queuedEvicting") {
        this.#lines.get(queued.outcome.evicted)?.pop()?.refuse(decision.kind === "rejectWithRetryAfter" ? decision.retryAfterMs : this.#state.config.minRetryAfterMs);
      }
      const admitted = await new Promise<number | undefined>((resolve) => {
        let line = this.#lines.get(key);
        if (line === undefined) this.#lines.set(key, (line = []));
        line.push({ start: () => resolve(undefined), refuse: (ms) => resolve(ms) });
        if (decision.kind === "queue" && decision.retryAtMs !== undefined) this.#wakeAt(decision.retryAtMs);
      });
      if (admitted !== undefined) return { kind: "rejected", retryAfterMs: admitted };
    }
    try {
      return { kind: "ran", value: await task() };
    } finally {
      this.#state = releaseUpstream(this.#state);
      this.#pump();
    }
  }

  /** Upstream answered 429: start nothing for `retryAfterMs`. */
  throttled(retryAfterMs: number): void {
    this.#state = upstreamThrottled(this.#state, retryAfterMs, this.#clock.now());
  }

  /** Refuses every queued caller and every later one (shutdown). */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const [key, line] of this.#lines) {
      for (const waiter of line.splice(0)) {
        this.#state = cancelQueued(this.#state);
        this.#fair = cancelFair(this.#fair, key);
        waiter.refuse(this.#state.config.minRetryAfterMs);
      }
    }
    this.#lines.clear();
  }

  /** Starts queued callers while capacity allows; otherwise arms a timer for the next opening. */
  #pump(): void {
    while (this.#fair.total > 0) {
      const step = startQueued(this.#state, this.#clock.now());
      this.#state = step.state;
      if (step.decision.kind === "start") {
        const next = dequeueFair(this.#fair);
        this.#fair = next.state;
        const line = next.key === undefined ? undefined : this.#lines.get(next.key);
        const waiter = line?.shift();
        if (line !== undefined && line.length === 0 && next.key !== undefined) this.#lines.delete(next.key);
        waiter?.start();
        continue;
      }
      if (step.decision.kind === "wait" && step.decision.retryAtMs !== undefined) this.#wakeAt(step.decision.retryAtMs);
      return;
    }
  }

  #wakeAt(atMs: number): void {
    if (this.#closed || (this.#timer !== undefined && this.#timerDueMs <= atMs)) return;
    this.#timer?.cancel();
    this.#timerDueMs = atMs;
    this.#timer = this.#clock.setTimer(Math.max(0, atMs - this.#clock.now()), () => {
      this.#timer = undefined;
      this.#timerDueMs = Number.POSITIVE_INFINITY;
      this.#pump();
    });
  }
}
