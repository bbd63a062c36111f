import {
  admitUpstream,
  cancelQueued,
  completeFetchPlan,
  createUpstreamBudget,
  err,
  METRIC,
  ok,
  releaseUpstream,
  startQueued,
  toImdsTokenBody,
  upstreamThrottled,
  type ClockPort,
  type ImdsTokenBody,
  type KubeReaderPort,
  type MetricsPort,
  type Result,
  type SecretFailure,
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
 * itself never exceeds IMDS's managed-identity limits (20 requests/s, 5 concurrent per VM) however many
 * pods ask at once; then it normalises the answer to IMDS's all-string shape with core's
 * `toImdsTokenBody` (so `expires_on` and `client_id` are always there).
 * @packageDocumentation
 */

/** Why a token could not be fetched: the token source failed, or the identity's Secret was unusable. */
export type FetchFailure =
  | { readonly kind: "token"; readonly error: TokenSourceError }
  | { readonly kind: "secret"; readonly failure: SecretFailure };

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
}

/** Builds the {@link TokenFetch} the cache runs on a miss. */
export class TokenFetcher {
  readonly #deps: TokenFetcherDeps;

  /** A fetcher over the given ports. */
  constructor(deps: TokenFetcherDeps) {
    this.#deps = deps;
  }

  /**
   * The fetch for `plan`. `clientIdHint` fills `client_id` when the upstream answer lacks it (the
   * identity's client id; `""` for the node identity, where IMDS's own `client_id` is used).
   */
  fetchFor(plan: TokenFetchPlan, clientIdHint: string): TokenFetch {
    return (signal) => this.#fetch(plan, clientIdHint, signal);
  }

  async #fetch(plan: TokenFetchPlan, clientIdHint: string, signal: AbortSignal): Promise<TokenFetchResult> {
    const { kube, tokenSource, gate, clock, metrics } = this.#deps;
    let request: TokenSourceRequest;
    if (plan.kind === "managedIdentity") {
      request = plan.request;
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
    const gated = await gate.run(async () => {
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
 * The async driver of core's upstream budget (IMDS: 20 starts/s, 5 in flight): callers over the limit
 * queue in FIFO order; when the queue is full they are refused with a `Retry-After`. Core's budget
 * defaults apply (NMI has no flag for them).
 */
export class UpstreamGate {
  #state: UpstreamBudgetState;
  readonly #clock: ClockPort;
  readonly #queue: Waiter[] = [];
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
    return this.#queue.length;
  }

  /**
   * Runs `task` once the budget admits it (immediately, or after queueing), or refuses. The slot is
   * released when `task` settles, whatever the outcome.
   */
  async run<T>(task: () => Promise<T>): Promise<GateResult<T>> {
    if (this.#closed) return { kind: "rejected", retryAfterMs: this.#state.config.minRetryAfterMs };
    const step = admitUpstream(this.#state, this.#clock.now());
    this.#state = step.state;
    const decision = step.decision;
    if (decision.kind === "rejectWithRetryAfter") return { kind: "rejected", retryAfterMs: decision.retryAfterMs };
    if (decision.kind === "queue") {
      const admitted = await new Promise<number | undefined>((resolve) => {
        this.#queue.push({ start: () => resolve(undefined), refuse: (ms) => resolve(ms) });
        if (decision.retryAtMs !== undefined) this.#wakeAt(decision.retryAtMs);
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
    for (const waiter of this.#queue.splice(0)) {
      this.#state = cancelQueued(this.#state);
      waiter.refuse(this.#state.config.minRetryAfterMs);
    }
  }

  /** Starts queued callers while capacity allows; otherwise arms a timer for the next opening. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const step = startQueued(this.#state, this.#clock.now());
      this.#state = step.state;
      if (step.decision.kind === "start") {
        this.#queue.shift()?.start();
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
