import type {
  ClockPort,
  EventRecorderPort,
  KubeReaderPort,
  LoggerPort,
  MetricsPort,
  NetfilterError,
  PodRef,
  Result,
  TimerHandle,
  Unsubscribe,
} from "@podid/core";
import { NMI_METRIC } from "./nmi-metrics.js";

/**
 * Anti-spoofing in NMI (docs/adr/0010-anti-spoofing.md). {@link CallerInterfaces} is the resolved-interface
 * state the token path's attribution consults (step 3): a pod IP gets a token only once NMI has bound it to
 * the host interface or bridge port it enters through — and then the node's nftables rules drop every
 * packet to the metadata address carrying that IP from anywhere else. {@link AntiSpoofingKeeper} keeps both
 * current: on start, on every pod event (debounced), when a request comes from an unresolved IP, and every
 * `--ipt-update-interval-sec` (drift repair).
 * @packageDocumentation
 */

/** The adapter NMI drives (adapter-iptables' `NftAntiSpoofing`). */
export interface AntiSpoofingPort {
  /** Resolves `podIps` on the node and makes the rules match (one transaction). */
  sync(podIps: Iterable<string>): Promise<
    Result<{ readonly resolution: { readonly bound: ReadonlyMap<string, unknown>; readonly unresolved: ReadonlyMap<string, string> }; readonly applied: boolean }, NetfilterError>
  >;
  /** Deletes the rules (`--interception-release=remove` only). */
  remove(): Promise<Result<void, NetfilterError>>;
}

/** Why an IP is not attributable on the network side. */
export type InterfaceCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The resolved-interface state: which pod IPs are bound to their interface (and protected by the rules). */
export class CallerInterfaces {
  #bound: ReadonlySet<string> = new Set();
  #unresolved: ReadonlyMap<string, string> = new Map();
  #synced = false;
  readonly #listeners = new Set<() => void>();
  #onMiss: ((ip: string) => Promise<void>) | undefined;
  #onRefused: ((pod: PodRef, ip: string, reason: string) => void) | undefined;

  /** Whether `ip` (canonical) is bound, with no side effects. */
  isBound(ip: string): boolean {
    return this.#bound.has(ip);
  }

  /** Whether `ip` (canonical) is bound; a miss asks the keeper for a prompt re-sync. */
  check(ip: string): InterfaceCheck {
    if (this.#bound.has(ip)) return { ok: true };
    void this.#onMiss?.(ip);
    if (!this.#synced) return { ok: false, reason: "the node's interfaces have not been read yet" };
    return { ok: false, reason: this.#unresolved.get(ip) ?? "no interface resolved for the IP yet" };
  }

  /**
   * Before attributing a request from `ip` (canonical): when the IP is not bound yet, waits (bounded by the
   * keeper) for one prompt re-sync. A new bridged pod's IP becomes resolvable only once the node has a
   * neighbour entry for it, which the pod's own ARP for the node creates just before its first request.
   */
  async settle(ip: string): Promise<void> {
    const onMiss = this.#onMiss;
    if (this.#bound.has(ip) || onMiss === undefined) return;
    // Whichever comes first: the IP bound by any sync, or the prompt sync (bounded by the keeper) done.
    await new Promise<void>((resolve) => {
      const unsubscribe = this.onChange(() => {
        if (!this.#bound.has(ip)) return;
        unsubscribe();
        resolve();
      });
      void onMiss(ip).finally(() => {
        unsubscribe();
        resolve();
      });
    });
  }

  /** Reports a refused request (Event + metric, wired by the keeper). */
  refused(pod: PodRef, ip: string, reason: string): void {
    this.#onRefused?.(pod, ip, reason);
  }

  /** Subscribes to changes of the bound set (the token path empties its decision memo). */
  onChange(listener: () => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal The keeper's hooks. */
  wire(onMiss: (ip: string) => Promise<void>, onRefused: (pod: PodRef, ip: string, reason: string) => void): void {
    this.#onMiss = onMiss;
    this.#onRefused = onRefused;
  }

  /** @internal Publishes a sync's result. */
  publish(bound: Iterable<string>, unresolved: ReadonlyMap<string, string>): void {
    const next = new Set(bound);
    const changed = !this.#synced || next.size !== this.#bound.size || [...next].some((ip) => !this.#bound.has(ip));
    this.#bound = next;
    this.#unresolved = unresolved;
    this.#synced = true;
    if (changed) for (const listener of this.#listeners) listener();
  }
}

/** Least time between the end of a sync and a prompt sync asked for by a request (bounds the read rate). */
export const MIN_PROMPT_GAP_MS = 200;

/** Options of {@link AntiSpoofingKeeper}. */
export interface AntiSpoofingKeeperOptions {
  readonly port: AntiSpoofingPort;
  readonly state: CallerInterfaces;
  readonly kube: KubeReaderPort;
  readonly nodeName: string;
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  readonly metrics: MetricsPort;
  readonly events?: EventRecorderPort;
  /** Periodic re-sync (drift repair), ms. */
  readonly intervalMs: number;
  /** Delay that coalesces bursts of pod events (default 100 ms). */
  readonly debounceMs?: number;
  /** How long a request from a not-yet-bound pod IP waits for the prompt re-sync (default 2000 ms). */
  readonly settleMs?: number;
}

/** Keeps {@link CallerInterfaces} and the node's anti-spoofing rules in sync with this node's pods. */
export class AntiSpoofingKeeper {
  readonly #o: AntiSpoofingKeeperOptions;
  #timer: TimerHandle | undefined;
  #soon: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #unsubscribe: Unsubscribe | undefined;
  #prompt: Promise<void> | undefined;
  #lastSyncEnd = Number.NEGATIVE_INFINITY;
  readonly #warned = new Set<string>();

  /** A stopped keeper. */
  constructor(options: AntiSpoofingKeeperOptions) {
    this.#o = options;
    options.state.wire(() => this.#promptSync(), (pod, ip, reason) => this.#refused(pod, ip, reason));
  }

  /** First sync, then pod events and the periodic check. A failed first sync is logged (pods stay refused) and retried. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#o.kube.subscribe("pods", () => this.syncSoon());
    await this.syncNow();
    this.#schedule();
  }

  /**
   * A prompt sync for a request from a not-yet-bound pod IP, waited for at most `settleMs`. Prompt syncs
   * start at least {@link MIN_PROMPT_GAP_MS} after the previous sync ended and are shared by every request
   * waiting meanwhile, so a pod that stays unresolvable cannot make NMI read the node in a tight loop.
   */
  #promptSync(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#prompt ??= new Promise<void>((resolve) => {
      const wait = Math.max(0, this.#lastSyncEnd + MIN_PROMPT_GAP_MS - this.#o.clock.now());
      this.#o.clock.setTimer(wait, () => {
        this.#prompt = undefined;
        void this.syncNow().finally(resolve);
      });
    });
    const prompt = this.#prompt;
    return new Promise<void>((resolve) => {
      const timer = this.#o.clock.setTimer(this.#o.settleMs ?? 2_000, resolve);
      void prompt.finally(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  /** A sync within `debounceMs` (coalesced). */
  syncSoon(): void {
    if (this.#stopped || this.#soon !== undefined) return;
    this.#soon = this.#o.clock.setTimer(this.#o.debounceMs ?? 100, () => {
      this.#soon = undefined;
      void this.syncNow();
    });
  }

  /** A sync now; a call during a running sync runs one more afterwards. */
  syncNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#sync();
        this.#lastSyncEnd = this.#o.clock.now();
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops syncing (the rules stay: fail-closed) or, with `remove`, deletes them. */
  async stop(mode: "failClosed" | "remove" = "failClosed"): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#soon?.cancel();
    this.#unsubscribe?.();
    await this.#running;
    if (mode === "remove") {
      const removed = await this.#o.port.remove();
      if (!removed.ok) this.#o.logger.error({ error: removed.error }, "cannot remove the anti-spoofing rules");
    }
  }

  #podIps(): string[] {
    const ips = new Set<string>();
    for (const pod of this.#o.kube.list("pods")) {
      if (pod.nodeName !== this.#o.nodeName || pod.hostNetwork || (pod.phase !== "Pending" && pod.phase !== "Running")) continue;
      for (const ip of [pod.podIP, ...pod.podIPs]) if (ip !== "") ips.add(ip);
    }
    return [...ips];
  }

  async #sync(): Promise<void> {
    const { port, state, logger, metrics } = this.#o;
    const result = await port.sync(this.#podIps());
    if (!result.ok) {
      metrics.increment(NMI_METRIC.interceptionErrors, { operation: "anti_spoofing" });
      logger.error({ error: result.error }, "anti-spoofing sync failed; pods not yet bound stay refused");
      return;
    }
    const { bound, unresolved } = result.value.resolution;
    state.publish(bound.keys(), unresolved);
    metrics.setGauge(NMI_METRIC.unresolvedInterfaces, {}, unresolved.size);
    for (const [ip, reason] of unresolved) {
      if (this.#warned.has(ip)) continue;
      this.#warned.add(ip);
      logger.warn({ ip, reason }, "pod IP not bound to an interface; its pod gets no token until it is");
    }
    for (const ip of this.#warned) if (bound.has(ip)) this.#warned.delete(ip);
  }

  #refused(pod: PodRef, ip: string, reason: string): void {
    this.#o.metrics.increment(NMI_METRIC.interfaceUnresolvedRefusals, {});
    this.#o.logger.warn({ pod: `${pod.namespace}/${pod.name}`, ip, reason }, "token refused: the pod's network interface is not resolved");
    this.#o.events?.record(
      { kind: "Pod", apiVersion: "v1", namespace: pod.namespace, name: pod.name, ...(pod.uid !== "" ? { uid: pod.uid } : {}) },
      "Warning",
      "PodInterfaceUnresolved",
      `NMI refused a token: the host interface of IP ${ip} could not be resolved (${reason})`,
    );
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimer(this.#o.intervalMs, () => {
      void this.syncNow().then(() => this.#schedule());
    });
  }
}
