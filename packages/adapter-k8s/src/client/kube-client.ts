import type { IncomingMessage } from "node:http";
import type { ClockPort } from "@podid/core";
import { systemClock } from "../support/system-clock.js";
import { kubeClientLimits, type KubeClientLimitOptions } from "./client-limits.js";
import type { ConcurrencyLimiter } from "./concurrency-limiter.js";
import { kubeConnection, type KubeConnection } from "./kube-connection.js";
import type { KubeConfig } from "./kube-config.js";
import { openKubeWatch, sendKubeRequest, type KubeHttpRequest, type KubeQuery } from "./kube-http.js";
import type { RequestClass, TokenBucketRateLimiter } from "./token-bucket.js";

export { DEFAULT_CLIENT_QPS, DEFAULT_MAX_CONCURRENT_WRITES, DEFAULT_REQUEST_TIMEOUT_MS } from "./client-limits.js";
/** The User-Agent podid sends when the caller names none, so API server audit logs tell it apart. */
export const DEFAULT_USER_AGENT = "podid";

/** Per-request settings of {@link KubeClient.request}. */
export interface KubeRequestOptions {
  /** Tightens the client's deadline for this call (the Lease store's renew budget). */
  readonly timeoutMs?: number;
  /**
   * Who gets the rate-limit token first (default `work`): an `event` request waits while any `work`
   * request waits, so Kubernetes Events never delay the writes MIC needs.
   */
  readonly requestClass?: RequestClass;
}

/** Settings of a {@link KubeClient}. */
export interface KubeClientOptions extends KubeClientLimitOptions {
  readonly kubeConfig: KubeConfig;
  readonly clock?: ClockPort;
  readonly userAgent?: string;
}

/**
 * One connection to the Kubernetes API: the kubeconfig's transport (TLS, credentials), raw JSON
 * requests that share a client-side token-bucket limit and carry a per-request deadline, and a bound
 * on concurrent writes. Informers take their list and watch requests from the same bucket. Leader
 * election should use its own client ({@link withOwnRateLimit}) so a burst of AzureAssignedIdentity
 * writes can never delay a Lease renewal past the renew deadline (client-go users do the same with a
 * separate rest config). Requests go through Node's HTTP client, not client-node's generated APIs, so
 * the daemons never load those (docs/adr/0011-lean-kube-access.md).
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly clock: ClockPort;
  readonly rateLimiter: TokenBucketRateLimiter;
  readonly writeLimiter: ConcurrencyLimiter;
  readonly requestTimeoutMs: number;
  readonly userAgent: string;
  readonly #connection: KubeConnection;
  #requestsSent = 0;

  /**
   * Builds the client. Throws when the kubeconfig has no current cluster, names settings podid does not
   * support (proxy-url, auth-providers other than token files), names unreadable certificate files, or
   * a limit is nonsensical.
   */
  constructor(options: KubeClientOptions) {
    this.kubeConfig = options.kubeConfig;
    this.#connection = kubeConnection(options.kubeConfig);
    this.clock = options.clock ?? systemClock;
    ({ rateLimiter: this.rateLimiter, writeLimiter: this.writeLimiter, requestTimeoutMs: this.requestTimeoutMs } = kubeClientLimits(options, this.clock));
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  }

  /** The API server URL. */
  get server(): string {
    return this.#connection.server;
  }

  /** Requests that have passed the rate limiter so far (requests and watches). */
  get requestsSent(): number {
    return this.#requestsSent;
  }

  /** Waits for a rate-limit token of `requestClass` (default `work`) and counts the request. */
  async beforeRequest(requestClass: RequestClass = "work"): Promise<void> {
    await this.rateLimiter.acquire(requestClass);
    this.#requestsSent++;
  }

  /**
   * Sends one request after a rate-limit token and returns the parsed JSON answer. Throws
   * `KubeHttpError` for non-2xx answers (`toKubeError` classifies it) and network/deadline errors.
   * `request` may be a function: it is then called once the token is there, so a write that waited for
   * its token sends the newest state (the Event recorder's count bumps).
   */
  async request(request: KubeHttpRequest | (() => KubeHttpRequest), options: KubeRequestOptions = {}): Promise<unknown> {
    await this.beforeRequest(options.requestClass);
    const resolved = typeof request === "function" ? request() : request;
    // A caller's own deadline (the Lease store's renew budget) is a hard bound on the whole exchange. The
    // client's deadline only cuts off a server that stopped sending: a list page of 500 pods that keeps
    // arriving on a CPU-starved node must not be aborted and force the informer into a full relist.
    const deadline = options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(Math.min(options.timeoutMs, this.requestTimeoutMs)) } : { idleMs: this.requestTimeoutMs };
    return sendKubeRequest(this.#connection, resolved, this.userAgent, deadline);
  }

  /**
   * Opens a watch on `path` after a rate-limit token; resolves with the event stream once the server
   * answered 200 (within the request deadline). Aborting `signal` closes it.
   */
  async openWatch(path: string, query: KubeQuery, signal: AbortSignal): Promise<IncomingMessage> {
    await this.beforeRequest();
    // The deadline covers only the wait for the answer: once the stream is open it must stay open for as
    // long as the server keeps it (the informer's watchdog covers a stream that goes quiet).
    const connection = new AbortController();
    const forward = (): void => connection.abort(signal.reason);
    if (signal.aborted) forward();
    signal.addEventListener("abort", forward, { once: true });
    const deadline = setTimeout(() => connection.abort(new DOMException("watch request timed out", "TimeoutError")), this.requestTimeoutMs);
    try {
      const response = await openKubeWatch(this.#connection, path, query, this.userAgent, connection.signal);
      response.once("close", () => signal.removeEventListener("abort", forward));
      return response;
    } catch (error) {
      signal.removeEventListener("abort", forward);
      throw error;
    } finally {
      clearTimeout(deadline);
    }
  }

  /** A client on the same kubeconfig with its own token bucket (and write bound), e.g. for leader election. */
  withOwnRateLimit(options: Omit<KubeClientOptions, "kubeConfig" | "clock"> = {}): KubeClient {
    return new KubeClient({
      kubeConfig: this.kubeConfig,
      clock: this.clock,
      requestTimeoutMs: this.requestTimeoutMs,
      userAgent: this.userAgent,
      ...options,
    });
  }

  /** Closes idle keep-alive sockets (shutdown; requests after this open new ones). */
  close(): void {
    this.#connection.close();
  }
}
