import type { ClockPort, HttpHeaders, ImdsResponse, MetricsPort, NmiDecisionOptions, NmiOutcome, PodRef } from "@podid/core";
import type { CacheResult, TokenCacheDriver } from "../cache/token-cache-driver.js";
import type { PodRateGate } from "../cache/pod-rate-gate.js";
import type { ForwardedResponse, ImdsForwarder } from "../proxy/http-forwarder.js";
import type { AssignmentWatch, WaitWake } from "./assignment-watch.js";
import type { AuditSubject } from "./audit.js";
import type { ClusterView } from "./cluster-view.js";
import type { DecisionMemo } from "./decision-memo.js";
import type { MemoisedDecision } from "./token-flow.js";
import type { TokenFetcher } from "./token-fetcher.js";

/**
 * What the request flows share: the engine's parts, the request as the flows see it, and the trace of
 * facts a flow collects for the audit record.
 * @packageDocumentation
 */

/** The engine parts a flow uses. */
export interface FlowContext {
  readonly view: ClusterView;
  readonly watch: AssignmentWatch;
  readonly cache: TokenCacheDriver;
  readonly fetcher: TokenFetcher;
  readonly podRate: PodRateGate;
  readonly forwarder: ImdsForwarder;
  readonly clock: ClockPort;
  readonly metrics: MetricsPort;
  readonly options: NmiDecisionOptions;
  /** Token-path decisions reused while the caches are unchanged. */
  readonly memo: DecisionMemo<MemoisedDecision>;
}

/** A request as the flows see it. */
export interface FlowRequest {
  readonly method: string;
  /** The request target exactly as received (path and query), never normalised. */
  readonly rawTarget: string;
  readonly headers: HttpHeaders;
  /** The connection's peer address (`socket.remoteAddress`; proxies are never trusted). */
  readonly remoteAddress: string;
  readonly body?: Uint8Array;
  /** Aborts when the client goes away or NMI shuts down. */
  readonly signal: AbortSignal;
  /** Aborts only when NMI shuts down (to tell the two apart). */
  readonly shutdownSignal: AbortSignal;
}

/** Facts collected while serving, for the audit record and metrics. */
export interface Trace {
  /** Who asked for what, shared by every request served from the same memoised decision. */
  subject?: AuditSubject;
  pod?: PodRef;
  identity?: string;
  clientId?: string;
  resource?: string;
  cache?: CacheResult;
  upstreamMs?: number;
  waitedMs?: number;
  waitOutcome?: WaitWake | "assigned";
}

/** How a flow ended. */
export type FlowResult =
  /** A final outcome rendered with core's `toImdsResponse`. */
  | { readonly kind: "outcome"; readonly outcome: NmiOutcome }
  /** IMDS's own answer to a forwarded request. */
  | { readonly kind: "forwarded"; readonly response: ForwardedResponse }
  /** A response core has no outcome for (upstream unreachable, shutting down). */
  | { readonly kind: "response"; readonly decision: string; readonly response: ImdsResponse };
