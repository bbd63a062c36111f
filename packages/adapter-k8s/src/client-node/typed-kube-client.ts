import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  setHeaderOptions,
  type Configuration,
  type ConfigurationOptions,
  type Middleware,
} from "@kubernetes/client-node";
import type { ClockPort } from "@podid/core";
import { systemClock } from "../support/system-clock.js";
import { kubeClientLimits, type KubeClientLimitOptions } from "../client/client-limits.js";
import type { ConcurrencyLimiter } from "../client/concurrency-limiter.js";
import { headerMiddleware, observableTimeoutMiddleware, rateLimitMiddleware, timeoutMiddleware } from "./middleware.js";
import type { TokenBucketRateLimiter } from "../client/token-bucket.js";

/** The User-Agent of the typed client when the caller names none. */
export const TYPED_USER_AGENT = "podid (@kubernetes/client-node)";

/** Settings of a {@link TypedKubeClient}. */
export interface TypedKubeClientOptions extends KubeClientLimitOptions {
  readonly kubeConfig: KubeConfig;
  readonly clock?: ClockPort;
  readonly userAgent?: string;
}

/**
 * The typed client for tools (the `podid` CLI): client-node's generated `CoreV1Api`,
 * `CustomObjectsApi` and `CoordinationV1Api` on client-node's `KubeConfig`, with the same rate limit,
 * deadline and User-Agent handling as the daemons' lean `KubeClient` from the package root.
 * Loading it costs about 90 MB of RSS (every generated API and model class), which is why the daemons
 * never import this subpath (docs/adr/0011-lean-kube-access.md).
 *
 * One connection to the Kubernetes API: the kubeconfig, typed API clients that share a client-side
 * token-bucket limit and a per-request deadline, and a bound on concurrent writes. Informers take their
 * list and watch requests from the same bucket. Leader election should use its own client
 * ({@link TypedKubeClient.withOwnRateLimit}) so a burst of AzureAssignedIdentity writes can never delay a Lease
 * renewal past the renew deadline (client-go users do the same with a separate rest config).
 */
export class TypedKubeClient {
  readonly kubeConfig: KubeConfig;
  readonly clock: ClockPort;
  readonly rateLimiter: TokenBucketRateLimiter;
  readonly writeLimiter: ConcurrencyLimiter;
  readonly requestTimeoutMs: number;
  readonly userAgent: string;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;
  #requestsSent = 0;

  /** Builds the clients. Throws when the kubeconfig has no current cluster or a limit is nonsensical. */
  constructor(options: TypedKubeClientOptions) {
    const cluster = options.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error("kubeconfig has no current cluster");
    this.kubeConfig = options.kubeConfig;
    this.clock = options.clock ?? systemClock;
    ({ rateLimiter: this.rateLimiter, writeLimiter: this.writeLimiter, requestTimeoutMs: this.requestTimeoutMs } = kubeClientLimits(options, this.clock));
    this.userAgent = options.userAgent ?? TYPED_USER_AGENT;
    const configuration = this.#configuration(cluster.server);
    this.core = new CoreV1Api(configuration);
    this.custom = new CustomObjectsApi(configuration);
    this.coordination = new CoordinationV1Api(configuration);
  }

  /** Requests that have passed the rate limiter so far (generated-API calls and watches). */
  get requestsSent(): number {
    return this.#requestsSent;
  }

  /** Waits for a rate-limit token and counts the request (for requests client-node sends outside the generated APIs, i.e. watches). */
  async beforeRequest(): Promise<void> {
    await this.rateLimiter.acquire();
    this.#requestsSent++;
  }

  /** A client on the same kubeconfig with its own token bucket (and write bound), e.g. for leader election. */
  withOwnRateLimit(options: Omit<TypedKubeClientOptions, "kubeConfig" | "clock"> = {}): TypedKubeClient {
    return new TypedKubeClient({
      kubeConfig: this.kubeConfig,
      clock: this.clock,
      requestTimeoutMs: this.requestTimeoutMs,
      userAgent: this.userAgent,
      ...options,
    });
  }

  /**
   * Per-call options that set the `Content-Type` of a PATCH (client-node defaults to JSON Patch for
   * `patch*` calls) while keeping this client's middleware (appended, not replaced).
   */
  patchOptions(contentType: string): ConfigurationOptions {
    return setHeaderOptions("Content-Type", contentType);
  }

  /** Per-call options with a tighter deadline than the client's (the timeout runs first, so it wins). */
  deadlineOptions(timeoutMs: number): ConfigurationOptions {
    return { middleware: [observableTimeoutMiddleware(timeoutMs)], middlewareMergeStrategy: "prepend" };
  }

  #configuration(server: string): Configuration {
    const middleware: Middleware[] = [
      headerMiddleware("User-Agent", this.userAgent),
      timeoutMiddleware(this.requestTimeoutMs),
      rateLimitMiddleware(
        () => this.rateLimiter.acquire(),
        () => void this.#requestsSent++,
      ),
    ];
    return createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(server, {}),
      authMethods: { default: this.kubeConfig },
      promiseMiddleware: middleware,
    });
  }
}
