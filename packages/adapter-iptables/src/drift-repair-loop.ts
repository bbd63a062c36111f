import type { ClockPort, InterceptionSpec, InterceptionState, LoggerPort, NetfilterError, NetfilterPort, Result, TimerHandle } from "@podid/core";
import { describeNetfilterError } from "./netfilter-errors.js";

/** A repair the loop made: what had drifted and the state afterwards. */
export interface DriftRepairEvent {
  /** `clock.now()` when the drift was found. */
  readonly at: number;
  readonly drift: readonly string[];
  readonly state: InterceptionState;
}

/** Options of {@link DriftRepairLoop}. */
export interface DriftRepairLoopOptions {
  readonly netfilter: NetfilterPort;
  readonly spec: InterceptionSpec;
  readonly clock: ClockPort;
  /** Pause between the end of one check and the start of the next (the original: `--ipt-update-interval-sec`, 60 s). */
  readonly intervalMs: number;
  readonly logger?: LoggerPort;
  /** Called after every repair. */
  readonly onRepair?: (event: DriftRepairEvent) => void;
  /** Called for every failed inspect/ensure (the loop keeps going; the original exited the process). */
  readonly onError?: (error: NetfilterError) => void;
}

/** Counters of a {@link DriftRepairLoop}. */
export interface DriftRepairStats {
  readonly checks: number;
  readonly repairs: number;
  readonly errors: number;
}

/**
 * The original's iptables refresh (every `--ipt-update-interval-sec`): each interval it inspects the
 * rules and, when anything drifted (chain flushed, jump moved or duplicated, DNAT retargeted, extra
 * rules), ensures them again and reports the drift via `onRepair` and the logger. Checks never overlap
 * (the next is scheduled when one finishes) and errors never stop the loop. Driven by {@link ClockPort},
 * so tests can run it on a virtual clock.
 */
export class DriftRepairLoop {
  readonly #options: DriftRepairLoopOptions;
  #timer: TimerHandle | undefined;
  #running = false;
  #inFlight: Promise<unknown> = Promise.resolve();
  #lastState: InterceptionState | undefined;
  #stats = { checks: 0, repairs: 0, errors: 0 };

  /** Creates a stopped loop; a non-positive `intervalMs` is a programming error (RangeError). */
  constructor(options: DriftRepairLoopOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${String(options.intervalMs)}`);
    this.#options = options;
  }

  /**
   * Installs the rules once (`ensure`) and starts the periodic checks, whatever the first outcome (a
   * failed first install is retried every interval). Resolves with the first outcome. On a loop already
   * running it just checks once.
   */
  async start(): Promise<Result<InterceptionState, NetfilterError>> {
    if (this.#running) return this.checkOnce();
    this.#running = true;
    const first = this.#options.netfilter.ensure(this.#options.spec);
    this.#inFlight = first;
    const result = await first;
    if (result.ok) this.#lastState = result.value;
    else this.#reportError(result.error);
    this.#schedule();
    return result;
  }

  /** One check now: inspect, and ensure when drifted. Also usable without {@link start}. */
  async checkOnce(): Promise<Result<InterceptionState, NetfilterError>> {
    const run = this.#check();
    this.#inFlight = run;
    return run;
  }

  /** Stops the loop and waits for a check in progress. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#inFlight.catch(() => undefined);
  }

  /** True between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.#running;
  }

  /** The state seen by the latest successful check, if any. */
  get lastState(): InterceptionState | undefined {
    return this.#lastState;
  }

  /** Counters so far. */
  stats(): DriftRepairStats {
    return { ...this.#stats };
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.#options.clock.setTimer(this.#options.intervalMs, () => {
      this.#timer = undefined;
      if (!this.#running) return;
      const run = this.#check();
      this.#inFlight = run;
      void run.then(() => this.#schedule());
    });
  }

  async #check(): Promise<Result<InterceptionState, NetfilterError>> {
    const { netfilter, spec, clock, logger } = this.#options;
    this.#stats.checks += 1;
    const at = clock.now();
    const inspected = await netfilter.inspect(spec);
    if (!inspected.ok) {
      this.#reportError(inspected.error);
      return inspected;
    }
    if (inspected.value.intact) {
      this.#lastState = inspected.value;
      return inspected;
    }
    logger?.warn({ chain: spec.chain, drift: inspected.value.drift }, "metadata interception rules drifted; repairing");
    const repaired = await netfilter.ensure(spec);
    if (!repaired.ok) {
      this.#reportError(repaired.error);
      return repaired;
    }
    this.#lastState = repaired.value;
    this.#stats.repairs += 1;
    logger?.info({ chain: spec.chain, drift: inspected.value.drift, intact: repaired.value.intact }, "repaired metadata interception rules");
    this.#options.onRepair?.({ at, drift: inspected.value.drift, state: repaired.value });
    return repaired;
  }

  #reportError(error: NetfilterError): void {
    this.#stats.errors += 1;
    this.#options.logger?.error({ chain: this.#options.spec.chain, error: describeNetfilterError(error) }, "metadata interception check failed");
    this.#options.onError?.(error);
  }
}
