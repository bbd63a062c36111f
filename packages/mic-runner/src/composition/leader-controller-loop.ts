import type { LoggerPort, Unsubscribe } from "@podid/core";
import type { MicController } from "../controller/mic-controller.js";
import type { MicKubeReader, MicLeadership } from "./mic-ports.js";

/** What {@link LeaderControllerLoop} drives. */
export interface LeaderControllerLoopDeps {
  readonly leadership: MicLeadership;
  readonly reader: MicKubeReader;
  /** A fresh controller for one term of leadership (fresh memory: a term starts by reading ARM again). */
  readonly createController: () => MicController;
  readonly logger: LoggerPort;
  /** Told when the controller starts (`true`) or stops (`false`). */
  readonly onActiveChange?: (active: boolean) => void;
  /** Longest wait, on a graceful stop, for in-flight VM/VMSS work before the Lease is released (default 15 s). */
  readonly drainTimeoutMs?: number;
  /** Timer for the drain bound (default `setTimeout`). */
  readonly setTimer?: (ms: number, callback: () => void) => { cancel(): void };
}

/**
 * Runs the MIC controller only while this replica leads. When leadership is won it waits for the caches
 * to be synced, then starts a new controller for the term; when leadership is lost (renew deadline
 * passed, Lease taken, shutdown) it stops that controller at once — its in-flight writes are already
 * refused by the leadership fence, so nothing more reaches ARM or the API server. The original exited
 * the process on loss (`os.Exit(1)`); podid keeps serving probes and campaigns again.
 */
export class LeaderControllerLoop {
  readonly #deps: LeaderControllerLoopDeps;
  #controller: MicController | undefined;
  #term = 0;
  #unsubscribe: Unsubscribe | undefined;
  #stopped = false;

  /** Wires `deps`; nothing runs until {@link start}. */
  constructor(deps: LeaderControllerLoopDeps) {
    this.#deps = deps;
  }

  /** The controller of the current term, if one runs. */
  get controller(): MicController | undefined {
    return this.#controller;
  }

  /** True while a controller runs and this replica still leads (the `/healthz` `Active`). */
  get active(): boolean {
    return this.#controller !== undefined && this.#deps.leadership.isLeader();
  }

  /** Starts campaigning. */
  start(): void {
    if (this.#unsubscribe !== undefined || this.#stopped) return;
    this.#unsubscribe = this.#deps.leadership.onLeadershipChange((leading) => {
      if (leading) void this.#elected();
      else this.#lost("leadership lost");
    });
    this.#deps.leadership.start();
  }

  /** Replaces the running controller with a new one (e.g. the cluster identity changed); no-op when not leading. */
  restartController(reason: string): void {
    if (this.#controller === undefined) return;
    this.#stopController(reason);
    this.#startController();
  }

  /**
   * Graceful stop: the controller stops taking new work, the VM/VMSS work already running finishes (its
   * status writes still pass the leadership fence, bounded by `drainTimeoutMs`), then the campaign stops
   * and a leader releases the Lease so a standby takes over at once — with no `Created` objects left
   * behind for it to recover.
   */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#term++;
    const controller = this.#controller;
    this.#stopController("shutting down");
    if (controller !== undefined && this.#deps.leadership.isLeader()) await this.#drain(controller);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#deps.leadership.stop(options);
  }

  async #drain(controller: MicController): Promise<void> {
    const timeoutMs = this.#deps.drainTimeoutMs ?? 15_000;
    const setTimer =
      this.#deps.setTimer ??
      ((ms: number, callback: () => void) => {
        const handle = setTimeout(callback, ms);
        handle.unref();
        return { cancel: () => clearTimeout(handle) };
      });
    let timer: { cancel(): void } | undefined;
    const drained = await Promise.race([
      controller.whenIdle().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimer(timeoutMs, () => resolve(false));
      }),
    ]);
    timer?.cancel();
    if (!drained) this.#deps.logger.warn({ timeoutMs }, "in-flight VM/VMSS work did not finish before the Lease is released; the next leader recovers it");
  }

  async #elected(): Promise<void> {
    const term = ++this.#term;
    this.#deps.logger.info({ identity: this.#deps.leadership.identity }, "became leader; waiting for caches before starting the controller");
    await this.#deps.reader.whenSynced();
    if (term !== this.#term || this.#stopped || !this.#deps.leadership.isLeader()) return;
    this.#startController();
  }

  #lost(reason: string): void {
    this.#term++;
    this.#stopController(reason);
  }

  #startController(): void {
    const controller = this.#deps.createController();
    this.#controller = controller;
    controller.start();
    this.#deps.logger.info({ identity: this.#deps.leadership.identity }, "controller started");
    this.#deps.onActiveChange?.(true);
  }

  #stopController(reason: string): void {
    const controller = this.#controller;
    if (controller === undefined) return;
    this.#controller = undefined;
    controller.stop();
    this.#deps.logger.info({ identity: this.#deps.leadership.identity, reason }, "controller stopped");
    this.#deps.onActiveChange?.(false);
  }
}
