import {
  METRIC,
  checkLeadership,
  createElector,
  isLeader,
  leaseWriteFailed,
  leaseWriteSucceeded,
  observeLease,
  releaseLease,
  validateLeaderElectionConfig,
  type ClockPort,
  type ElectionAction,
  type ElectionStep,
  type ElectorState,
  type KubeError,
  type LeaderElectionConfig,
  type LeaseObservation,
  type LeaseStorePort,
  type LoggerPort,
  type MetricsPort,
  type Result,
  type TimerHandle,
  type Unsubscribe,
} from "@podid/core";
import { describeError } from "../client/kube-api-error.js";
import { systemClock } from "../support/system-clock.js";
import { silentLogger } from "../support/silent-logger.js";

/** Settings of a {@link LeaderElector}. */
export interface LeaderElectorOptions {
  readonly store: LeaseStorePort;
  /** Usually core's `defaultLeaderElectionConfig(identity, durationMs)`: 15 s / 7.5 s / 3.75 s on `default/aad-pod-identity-mic`. */
  readonly config: LeaderElectionConfig;
  readonly clock?: ClockPort;
  readonly logger?: LoggerPort;
  readonly metrics?: MetricsPort;
  /**
   * Followers wait up to this fraction of the retry period longer (random), so candidates that start
   * together do not keep colliding (default 0.1). Leaders renew without jitter: with renew deadline =
   * 2 × retry period, client-go's 1.2 jitter on renewals could skip past the deadline.
   */
  readonly jitter?: number;
  readonly random?: () => number;
}

type WriteAction = Extract<ElectionAction, { kind: "create" | "acquire" | "renew" | "release" }>;

const isWrite = (action: ElectionAction): action is WriteAction =>
  action.kind === "create" || action.kind === "acquire" || action.kind === "renew" || action.kind === "release";

/**
 * Runs core's Lease election state machine against a {@link LeaseStorePort} (adapter-k8s:
 * {@link KubeLeaseStore}) on a {@link ClockPort}: read → decide → write → wait, as client-go's
 * `LeaderElector` (aad-pod-identity's MIC used it with an Endpoints lock; podid uses a Lease).
 *
 * Leadership is a local, time-bounded belief: {@link isLeader} turns false the instant the renew
 * deadline passes without a successful renewal — even while a request hangs — and a timer at that
 * deadline reports the loss to listeners, so leader-only work stops before any follower may take over
 * (followers wait the whole lease duration). MIC exits on loss, as the original did.
 */
export class LeaderElector {
  readonly #store: LeaseStorePort;
  readonly #clock: ClockPort;
  readonly #logger: LoggerPort;
  readonly #metrics: MetricsPort | undefined;
  readonly #jitter: number;
  readonly #random: () => number;
  readonly #listeners = new Set<(leading: boolean) => void>();
  #state: ElectorState;
  #stopped = true;
  #announced = false;
  #attemptTimer: TimerHandle | undefined;
  #deadlineTimer: TimerHandle | undefined;
  #inFlight: Promise<void> | undefined;

  /** Throws `RangeError` for a config core rejects (e.g. renew deadline not below the lease duration). */
  constructor(options: LeaderElectorOptions) {
    const valid = validateLeaderElectionConfig(options.config);
    if (!valid.ok) throw new RangeError(`invalid leader election config: ${valid.error.kind}`);
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = options.metrics;
    this.#jitter = options.jitter ?? 0.1;
    this.#random = options.random ?? Math.random;
    this.#state = createElector(options.config);
  }

  /** This candidate's identity. */
  get identity(): string {
    return this.#state.config.identity;
  }

  /** The holder last seen on the Lease (`undefined` before the first read; `""` when released). */
  get observedHolder(): string | undefined {
    return this.#state.observed?.holderIdentity;
  }

  /** True while this candidate leads: started, elected, and its renew deadline not yet passed. */
  isLeader(): boolean {
    return !this.#stopped && isLeader(this.#state, this.#clock.now());
  }

  /**
   * Calls `listener(true)` when leadership is won and `listener(false)` when it is lost (renew deadline
   * passed, Lease taken by someone else, or stopped). Calls alternate, starting with `true`.
   */
  onLeadershipChange(listener: (leading: boolean) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Starts campaigning: the first attempt is immediate. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#logger.info({ identity: this.identity, lock: `${this.#state.config.lockNamespace}/${this.#state.config.lockName}` }, "starting leader election");
    this.#scheduleAt(this.#clock.now());
  }

  /**
   * Stops campaigning. With `release` (the default, client-go's `ReleaseOnCancel`) a leader writes an
   * empty holder so a follower takes over on its next attempt instead of after the lease expires;
   * `release: false` just stops renewing (what a crash looks like to the others).
   */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#attemptTimer?.cancel();
    this.#attemptTimer = undefined;
    await this.#inFlight;
    if (options.release !== false) {
      const step = releaseLease(this.#state, this.#clock.now());
      if (step !== undefined) {
        this.#apply(step);
        if (isWrite(step.action)) await this.#write(step.action);
      }
    }
    this.#deadlineTimer?.cancel();
    this.#deadlineTimer = undefined;
    this.#announce(false);
    this.#logger.info({ identity: this.identity }, "stopped leader election");
  }

  #scheduleAt(atMs: number): void {
    if (this.#stopped) return;
    this.#attemptTimer?.cancel();
    this.#attemptTimer = this.#clock.setTimer(Math.max(0, atMs - this.#clock.now()), () => {
      this.#attemptTimer = undefined;
      const attempt = this.#attempt().finally(() => {
        if (this.#inFlight === attempt) this.#inFlight = undefined;
      });
      this.#inFlight = attempt;
    });
  }

  async #attempt(): Promise<void> {
    const read = await this.#guard(() => this.#store.read());
    // Stopped while reading: decide nothing and write nothing (stop() releases from the last known state).
    if (this.#stopped) return;
    const observation: LeaseObservation = !read.ok
      ? { kind: "error", error: read.error }
      : read.value === undefined
        ? { kind: "absent" }
        : { kind: "present", record: read.value };
    let step = observeLease(this.#state, observation, this.#clock.now());
    this.#apply(step);
    if (observation.kind === "error") this.#logger.warn({ identity: this.identity, error: observation.error.kind, message: observation.error.message }, "reading the lease failed");
    if (isWrite(step.action)) step = await this.#write(step.action);
    if (this.#stopped) return;
    const retryAtMs = "retryAtMs" in step.action ? step.action.retryAtMs : this.#clock.now() + this.#state.config.retryPeriodMs;
    const leading = isLeader(this.#state, this.#clock.now());
    const extra = leading ? 0 : this.#jitter * this.#state.config.retryPeriodMs * this.#random();
    this.#scheduleAt(retryAtMs + extra);
  }

  async #write(action: WriteAction): Promise<ElectionStep> {
    const result = await this.#guard(() => (action.kind === "create" ? this.#store.create(action.record) : this.#store.update(action.record)));
    const now = this.#clock.now();
    const step = result.ok ? leaseWriteSucceeded(this.#state, action.writeId, result.value, now) : leaseWriteFailed(this.#state, action.writeId, result.error, now);
    if (!result.ok && result.error.kind !== "conflict") {
      this.#logger.warn({ identity: this.identity, write: action.kind, error: result.error.kind, message: result.error.message }, "lease write failed");
    }
    this.#apply(step);
    return step;
  }

  /** Applies a step: new state, transition announcements and the renew-deadline timer. */
  #apply(step: ElectionStep | { readonly state: ElectorState; readonly transition?: "elected" | "lost" }): void {
    this.#state = step.state;
    if (step.transition === "lost") this.#announce(false);
    if (step.transition === "elected") this.#announce(true);
    this.#deadlineTimer?.cancel();
    this.#deadlineTimer = undefined;
    if (this.#state.role === "leader") {
      const delay = this.#state.leaderUntilMs - this.#clock.now();
      this.#deadlineTimer = this.#clock.setTimer(Math.max(0, delay), () => {
        this.#deadlineTimer = undefined;
        const checked = checkLeadership(this.#state, this.#clock.now());
        if (checked.transition === "lost") this.#logger.warn({ identity: this.identity }, "renew deadline passed without a successful renewal; leadership lost");
        this.#apply(checked);
      });
    }
  }

  #announce(leading: boolean): void {
    if (this.#announced === leading) return;
    this.#announced = leading;
    if (leading) this.#metrics?.increment(METRIC.micNewLeaderElectionCount);
    this.#logger.info({ identity: this.identity, leading }, leading ? "became leader" : "lost leadership");
    for (const listener of [...this.#listeners]) {
      try {
        listener(leading);
      } catch (error) {
        this.#logger.error({ identity: this.identity, error: describeError(error) }, "leadership listener threw");
      }
    }
  }

  /** Store calls never throw by contract; a port that does anyway becomes a transient error. */
  async #guard<T>(call: () => Promise<Result<T, KubeError>>): Promise<Result<T, KubeError>> {
    try {
      return await call();
    } catch (error) {
      return { ok: false, error: { kind: "transient", message: describeError(error) } };
    }
  }
}
