/**
 * What the real MIC's Kubernetes client imposes on its writes, modelled on the simulation's virtual clock so
 * `sim:scale` agrees with `bench:mic-real`: the client's own token bucket (adapter-k8s' `TokenBucketRateLimiter`
 * at `--clientQps`, QPS = burst, as the original and podid's client) shared by AzureAssignedIdentity writes and
 * the Events MIC's recorder sends, Events at its lower priority (an Event waits while any AAI write waits, from
 * a queue that drops what does not fit), a bound on AAI writes in flight (`--createDeleteBatch`), and a round-trip
 * time per request. Without it the simulation wrote every object instantly and reported a 2,000-pod burst
 * converging in one PATCH latency, minutes faster than the real process at the original's 5 QPS.
 * @packageDocumentation
 */
import type { AssignedIdentityWriterPort, ClockPort } from "@podid/core";
import { KubeClient, KubeEventRecorder, loadKubeConfig, type KubeEventRecorderStats, type KubeHttpRequest, type KubeRequestOptions } from "@podid/adapter-k8s";

/** The client's limits. */
export interface KubeClientModelOptions {
  readonly qps: number;
  /** Tokens the bucket holds (default `qps`, as `--clientQps` sets both). */
  readonly burst?: number;
  /** AAI writes in flight at once (`--createDeleteBatch`). */
  readonly maxConcurrentWrites: number;
  /** Virtual milliseconds one request takes once sent (default 5). */
  readonly roundTripMs?: number;
}

/** MIC's Event recorder in the model, with what it sent and dropped. */
export type ModelledEventRecorder = KubeEventRecorder & { readonly sent: () => number; readonly stats: () => KubeEventRecorderStats };

/** The real client's rate limit and write bound on a {@link ClockPort}, answering every request itself. */
export class KubeClientModel {
  readonly #clock: ClockPort;
  readonly #roundTripMs: number;
  readonly #client: ModelledKubeClient;
  /** Requests sent so far (AAI writes and Events). */
  requests = 0;

  constructor(clock: ClockPort, options: KubeClientModelOptions) {
    if (!(options.qps > 0)) throw new Error(`qps must be positive (got ${options.qps})`);
    this.#clock = clock;
    this.#roundTripMs = options.roundTripMs ?? 5;
    this.#client = new ModelledKubeClient(clock, {
      qps: options.qps,
      burst: Math.max(1, Math.ceil(options.burst ?? options.qps)),
      maxConcurrentWrites: Math.max(1, options.maxConcurrentWrites),
      send: async () => {
        await this.#clock.sleep(this.#roundTripMs);
        this.requests++;
      },
    });
  }

  /** Runs `request` as MIC's AAI writer does: a write slot, then a `work` token, then one round trip. */
  write<T>(request: () => Promise<T>): Promise<T> {
    return this.#client.writeLimiter.run(async () => {
      await this.#client.request({ method: "POST", path: "/aai" });
      return request();
    });
  }

  /** `writer` with every call going through this client. */
  writer(writer: AssignedIdentityWriterPort): AssignedIdentityWriterPort {
    return {
      create: (aai) => this.write(() => writer.create(aai)),
      update: (aai) => this.write(() => writer.update(aai)),
      setStatus: (aai, status) => this.write(() => writer.setStatus(aai, status)),
      delete: (aai) => this.write(() => writer.delete(aai)),
    };
  }

  /**
   * MIC's own Event recorder (adapter-k8s' `KubeEventRecorder`: client-go's aggregation of similar Events,
   * count bumps of repeats, each object's spam budget of 25, its bounded queue and `event` priority), sending
   * through this client's bucket as in the real process where both share one client. `sent()` counts its
   * creates and PATCHes, `stats().dropped` the Events its full queue dropped.
   */
  eventRecorder(): ModelledEventRecorder {
    const recorder = new KubeEventRecorder({ client: this.#client });
    return Object.assign(recorder, { sent: () => recorder.stats().writes });
  }
}

/** Never contacted: the modelled client answers every request itself. */
const UNUSED_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: sim, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: sim, user: {} }]
contexts: [{ name: sim, context: { cluster: sim, user: sim } }]
current-context: sim
`;

/**
 * A `KubeClient` with the real client's limits (its token bucket with both request classes, its write bound)
 * whose requests are answered by `send` on the simulation's clock after the token.
 */
class ModelledKubeClient extends KubeClient {
  readonly #send: (request: KubeHttpRequest) => Promise<void>;

  constructor(clock: ClockPort, options: { qps: number; burst: number; maxConcurrentWrites: number; send: (request: KubeHttpRequest) => Promise<void> }) {
    super({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: UNUSED_KUBECONFIG }), clock, qps: options.qps, burst: options.burst, maxConcurrentWrites: options.maxConcurrentWrites });
    this.#send = options.send;
  }

  override async request(request: KubeHttpRequest | (() => KubeHttpRequest), options: KubeRequestOptions = {}): Promise<unknown> {
    await this.beforeRequest(options.requestClass);
    await this.#send(typeof request === "function" ? request() : request);
    return {};
  }
}
