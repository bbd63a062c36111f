import {
  ok,
  type ClockPort,
  type InterceptionSpec,
  type LoggerPort,
  type MetricsPort,
  type NetfilterError,
  type NetfilterPort,
  type Result,
  type TimerHandle,
} from "@podid/core";
import { NMI_METRIC } from "./nmi-metrics.js";

/**
 * Keeps the metadata interception installed: installs it once at start (after the token server listens,
 * so redirected traffic always finds NMI), re-checks it every `--ipt-update-interval-sec` and repairs
 * drift, and releases it on shutdown as `--interception-release` says. The rules themselves are the
 * NetfilterPort adapter's business.
 * @packageDocumentation
 */

/** How the interception is released on shutdown (the port's terms). */
export type ReleaseMode = "failClosed" | "remove";

/** Options of {@link InterceptionKeeper}. */
export interface InterceptionKeeperOptions {
  readonly netfilter: NetfilterPort;
  readonly spec: InterceptionSpec;
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  readonly metrics: MetricsPort;
  /** Interval of the drift check. */
  readonly intervalMs: number;
}

/** Installs, watches and releases the interception. */
export class InterceptionKeeper {
  readonly #o: InterceptionKeeperOptions;
  #installed = false;
  #intact = false;
  #timer: TimerHandle | undefined;
  #stopped = false;
  #checking: Promise<void> | undefined;

  /** A keeper for `options.spec`; nothing happens until {@link start}. */
  constructor(options: InterceptionKeeperOptions) {
    this.#o = options;
  }

  /** True once the rules were installed the first time (`/healthz` says `Active`, as the original's `Initialized`). */
  get installed(): boolean {
    return this.#installed;
  }

  /** True while the last install, check or repair found the rules intact (readiness). */
  get intact(): boolean {
    return this.#intact;
  }

  /** The interception being kept. */
  get spec(): InterceptionSpec {
    return this.#o.spec;
  }

  /** Installs the rules; on success starts the periodic check. The error is returned (start-up is fatal then). */
  async start(): Promise<Result<void, NetfilterError>> {
    const result = await this.#o.netfilter.ensure(this.#o.spec);
    if (!result.ok) {
      this.#failed("ensure", result.error);
      return result;
    }
    this.#installed = true;
    this.#setIntact(result.value.intact);
    this.#o.logger.info({ chain: this.#o.spec.chain, target: `${this.#o.spec.targetAddress}:${this.#o.spec.targetPort}` }, "metadata interception installed");
    this.#schedule();
    return ok(undefined);
  }

  /** Runs one check now (and repairs drift); concurrent calls share the running check. */
  checkNow(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Stops the periodic check and waits for a running one. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#checking;
  }

  /** Stops checking, then releases the rules with `mode`. */
  async release(mode: ReleaseMode): Promise<Result<void, NetfilterError>> {
    await this.stop();
    const result = await this.#o.netfilter.release(this.#o.spec, mode);
    if (!result.ok) this.#failed("release", result.error);
    else this.#o.logger.info({ mode }, mode === "failClosed" ? "interception released fail-closed: pod traffic to the metadata address stays blocked" : "interception removed");
    this.#setIntact(false);
    return result;
  }

  async #check(): Promise<void> {
    const { netfilter, spec, logger, metrics } = this.#o;
    const state = await netfilter.inspect(spec);
    if (!state.ok) {
      this.#failed("inspect", state.error);
      return;
    }
    if (state.value.intact) {
      this.#setIntact(true);
      return;
    }
    logger.warn({ drift: state.value.drift }, "metadata interception drifted; repairing");
    const repaired = await netfilter.ensure(spec);
    if (!repaired.ok) {
      this.#failed("ensure", repaired.error);
      return;
    }
    metrics.increment(NMI_METRIC.interceptionRepairs, {});
    this.#setIntact(repaired.value.intact);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimer(this.#o.intervalMs, () => {
      void this.checkNow().then(() => this.#schedule());
    });
  }

  #setIntact(intact: boolean): void {
    this.#intact = intact;
    this.#o.metrics.setGauge(NMI_METRIC.interceptionActive, {}, intact ? 1 : 0);
  }

  #failed(operation: string, error: NetfilterError): void {
    this.#setIntact(false);
    this.#o.metrics.increment(NMI_METRIC.interceptionErrors, { operation });
    this.#o.logger.error({ operation, error }, "netfilter operation failed");
  }
}
