import {
  completeFetchPlan,
  err,
  METRIC,
  ok,
  toImdsTokenBody,
  type ClockPort,
  type KubeReaderPort,
  type LoggerPort,
  type MetricsPort,
  type TokenFetchPlan,
  type TokenSourcePort,
  type TokenSourceRequest,
} from "@podid/core";
import type { TokenFetch, TokenFetchResult } from "../cache/token-cache-driver.js";
import type { UpstreamGate } from "../cache/upstream-gate.js";
import { IMDS_OPERATION, KUBE_OPERATION, NMI_METRIC } from "../observability/nmi-metrics.js";

/**
 * One upstream fetch for a fetch plan: for types 1 and 2 read the identity's Secret
 * (`KubeReaderPort.readSecret`) and complete the plan with core's `completeFetchPlan`; then call the
 * token source through the upstream gate; then normalise the answer to IMDS's all-string shape with core's
 * `toImdsTokenBody` (so `expires_on` and `client_id` are always there).
 * @packageDocumentation
 */

/** The `imds_operations_*` operation type of a token-source request (the original's three values). */
export function imdsOperationOf(request: TokenSourceRequest): string {
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
  readonly logger: LoggerPort;
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
