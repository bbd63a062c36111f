/**
 * What the real MIC's Kubernetes client imposes on its writes, modelled on the simulation's virtual clock so
 * `sim:scale` agrees with `bench:mic-real`: one token bucket (`--clientQps`, QPS = burst, as the original
 * and podid's client) shared by AzureAssignedIdentity writes and the Events MIC's recorder sends, a bound on
 * writes in flight (`--createDeleteBatch`), and a round-trip time per request. Without it the simulation wrote every object
 * instantly and reported a 2,000-pod burst converging in one PATCH latency, minutes faster than the real
 * process at the original's 5 QPS.
 * @packageDocumentation
 */
import type { AssignedIdentityWriterPort, ClockPort } from "@podid/core";
import { KubeClient, KubeEventRecorder, loadKubeConfig, type KubeHttpRequest } from "@podid/adapter-k8s";

/** The client's limits. */
export interface KubeClientModelOptions {
  readonly qps: number;
  /** Tokens the bucket holds (default `qps`, as `--clientQps` sets both). */
  readonly burst?: number;
  /** Writes in flight at once (`--createDeleteBatch`). */
  readonly maxConcurrentWrites: number;
  /** Virtual milliseconds one request takes once sent (default 5). */
  readonly roundTripMs?: number;
}

/** A token bucket and a concurrency bound on a {@link ClockPort}. */
export class KubeClientModel {
  readonly #clock: ClockPort;
  readonly #qps: number;
  readonly #burst: number;
  readonly #roundTripMs: number;
  readonly #maxInFlight: number;
  #tokens: number;
  #refilledAt: number;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  /** Requests sent so far. */
  requests = 0;

  constructor(clock: ClockPort, options: KubeClientModelOptions) {
    if (!(options.qps > 0)) throw new Error(`qps must be positive (got ${options.qps})`);
    this.#clock = clock;
    this.#qps = options.qps;
    this.#burst = Math.max(1, Math.ceil(options.burst ?? options.qps));
    this.#roundTripMs = options.roundTripMs ?? 5;
    this.#maxInFlight = Math.max(1, options.maxConcurrentWrites);
    this.#tokens = this.#burst;
    this.#refilledAt = clock.now();
  }

  /** Runs `request` once a write slot and a token are free, then holds the slot for one round trip. */
  async write<T>(request: () => Promise<T>): Promise<T> {
    await this.#slot();
    try {
      await this.#token();
      await this.#clock.sleep(this.#roundTripMs);
      this.requests++;
      return await request();
    } finally {
      this.#inFlight--;
      this.#waiting.shift()?.();
    }
  }

  async #slot(): Promise<void> {
    if (this.#inFlight < this.#maxInFlight) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#inFlight++;
  }

  /** Reserves the next token and waits until it is due (a reservation, like golang.org/x/time/rate). */
  async #token(): Promise<void> {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) * this.#qps) / 1000);
    this.#refilledAt = now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    // A negative balance is a queue of reservations: this one is due when the refill has covered it.
    await this.#clock.sleep((-this.#tokens * 1000) / this.#qps);
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
   * count bumps of repeats, each object's spam budget of 25), with every Event create or PATCH it decides to
   * send going through this client's bucket and write bound, as in the real process where both share one
   * client. At 10,000 pods over 200 bindings the budget drops about half of the `binding applied` Events;
   * counting one write per Event overstated the writes and the time to all `Assigned`.
   */
  eventRecorder(): KubeEventRecorder & { readonly sent: () => number } {
    let sent = 0;
    const client = new ModelledKubeClient(this.#clock, async () => {
      await this.write(async () => void sent++);
      return {};
    });
    return Object.assign(new KubeEventRecorder({ client }), { sent: () => sent });
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
 * A `KubeClient` whose requests are answered by `send` on the simulation's clock. Its own limits are off:
 * {@link KubeClientModel} applies the one bucket and write bound that AAI writes and Events share.
 */
class ModelledKubeClient extends KubeClient {
  readonly #send: (request: KubeHttpRequest) => Promise<unknown>;

  constructor(clock: ClockPort, send: (request: KubeHttpRequest) => Promise<unknown>) {
    super({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: UNUSED_KUBECONFIG }), clock, qps: Number.POSITIVE_INFINITY, maxConcurrentWrites: Number.MAX_SAFE_INTEGER });
    this.#send = send;
  }

  override request(request: KubeHttpRequest): Promise<unknown> {
    return this.#send(request);
  }
}
