/**
 * What the real MIC's Kubernetes client imposes on its writes, modelled on the simulation's virtual clock so
 * `sim:scale` agrees with `bench:mic-real`: one token bucket (`--clientQps`, QPS = burst, as the original
 * and podid's client) shared by AzureAssignedIdentity writes and Events, a bound on writes in flight
 * (`--createDeleteBatch`), and a round-trip time per request. Without it the simulation wrote every object
 * instantly and reported a 2,000-pod burst converging in one PATCH latency, minutes faster than the real
 * process at the original's 5 QPS.
 * @packageDocumentation
 */
import type { AssignedIdentityWriterPort, ClockPort, EventRecorderPort } from "@podid/core";

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

  /** An Event recorder whose every Event is one write through this client, in the background (as MIC's recorder queues them). */
  events(): EventRecorderPort & { recorded: () => number } {
    let recorded = 0;
    return {
      record: () => {
        recorded++;
        void this.write(async () => undefined);
      },
      recorded: () => recorded,
    };
  }
}
