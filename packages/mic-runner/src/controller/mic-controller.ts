import {
  closeGate,
  computeTargetKey,
  EMPTY_QUARANTINE,
  gateOpensAt,
  isAssignmentRelevantPodChange,
  lifecycleStateOf,
  matchAssignments,
  METRIC,
  OPEN_GATES,
  parseProviderId,
  PlanExecution,
  planReconcile,
  pruneGates,
  recoverLeavingCreated,
  releaseIdentities,
  type AssignedIdentityWriterPort,
  type ClockPort,
  type ComputeIdentityState,
  type ComputePort,
  type ComputeTarget,
  type EventRecorderPort,
  type KubeReaderPort,
  type LoggerPort,
  type MetricsPort,
  type QuarantineState,
  type ReconcilePlan,
  type TargetOutcome,
  type TargetPlan,
  type ThrottleGates,
  type TimerHandle,
  type Unsubscribe,
  type WaitingLeavingObject,
} from "@podid/core";
import { fenceCompute, fenceWriter } from "./leader-fencing.js";
import { DEFAULT_MIC_CONTROLLER_OPTIONS, type MicControllerOptions } from "./mic-options.js";

/** Everything the controller talks to. */
export interface MicControllerPorts {
  readonly reader: KubeReaderPort;
  readonly writer: AssignedIdentityWriterPort;
  readonly compute: ComputePort;
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  readonly events?: EventRecorderPort;
  readonly metrics?: MetricsPort;
  /** Leadership; every write is fenced by it. */
  readonly isLeader: () => boolean;
}

/** Counters for probes, logs and the scale simulation. */
export interface MicControllerStats {
  cycles: number;
  cyclesWithWork: number;
  targetRuns: number;
  driftReads: number;
  throttled: number;
}


/**
 * MIC's engine. Informer events mark work; after a short batch window one planning pass (match → plan)
 * writes the AzureAssignedIdentities and hands each VM/VMSS its own work item, which runs as soon as that
 * target is free and not throttled — one PATCH per VM/VMSS per batch carrying all its adds and removes,
 * and a slow or throttled scale set never delays the others (the original ran one full cycle per event and
 * waited for every node's PATCH, §4.2–4.3). Identity blocks read or returned by ARM are remembered and fed
 * back to the planner, which confirms `Created` objects after a restart and re-attaches identities removed
 * out of band; a drift pass reads each VM/VMSS at most once per interval, skipping those the controller
 * read or patched within it.
 */
export class MicController {
  readonly stats: MicControllerStats = { cycles: 0, cyclesWithWork: 0, targetRuns: 0, driftReads: 0, throttled: 0 };
  readonly #ports: MicControllerPorts;
  readonly #options: MicControllerOptions;
  readonly #writer: AssignedIdentityWriterPort;
  readonly #compute: ComputePort;
  readonly #known = new Map<string, { state: ComputeIdentityState; atMs: number }>();
  readonly #busy = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #unsubscribe: Unsubscribe[] = [];
  #quarantine: QuarantineState = EMPTY_QUARANTINE;
  #gates: ThrottleGates = OPEN_GATES;
  #wake: { timer: TimerHandle; atMs: number } | undefined;
  readonly #periodic = new Map<string, TimerHandle>();
  /** Pending re-reads of VM/VMSS whose leaving `Created` objects wait for a settled read (see `recoverLeavingCreated`). */
  readonly #refreshes = new Map<string, TimerHandle>();
  readonly #idleWaiters: (() => void)[] = [];
  #cycleRunning = false;
  #rerun = false;
  #started = false;

  constructor(ports: MicControllerPorts, options: Partial<MicControllerOptions> = {}) {
    this.#ports = ports;
    this.#options = { ...DEFAULT_MIC_CONTROLLER_OPTIONS, ...options };
    this.#writer = fenceWriter(ports.writer, ports.isLeader);
    this.#compute = fenceCompute(ports.compute, ports.isLeader);
  }

  /** Identities currently quarantined (for `podid explain` and metrics). */
  get quarantine(): QuarantineState {
    return this.#quarantine;
  }

  /** True when nothing is running or scheduled within the batch window. */
  isIdle(): boolean {
    const soon = this.#ports.clock.now() + this.#options.batchWindowMs;
    return !this.#cycleRunning && this.#busy.size === 0 && (this.#wake === undefined || this.#wake.atMs > soon);
  }

  /** Subscribes to cluster changes and runs the start-up pass (read every VM/VMSS in use, then plan). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { reader } = this.#ports;
    this.#unsubscribe.push(
      reader.subscribe("pods", (event) => {
        const previous = event.type === "added" ? undefined : (event.previous ?? (event.type === "deleted" ? event.object : undefined));
        const next = event.type === "deleted" ? undefined : event.object;
        if (isAssignmentRelevantPodChange(previous, next)) this.#markDirty();
      }),
      reader.subscribe("nodes", (event) => {
        if (event.type !== "modified" || event.previous?.providerID !== event.object.providerID) this.#markDirty();
      }),
      reader.subscribe("azureidentities", () => this.#markDirty()),
      reader.subscribe("azureidentitybindings", () => this.#markDirty()),
      reader.subscribe("azureassignedidentities", (event) => {
        if (event.type === "deleted") this.#markDirty();
      }),
    );
    const { clock } = this.#ports;
    const every = (name: string, intervalMs: number, run: () => void) => {
      const tick = () => {
        run();
        if (this.#started) this.#periodic.set(name, clock.setTimer(intervalMs, tick));
      };
      this.#periodic.set(name, clock.setTimer(intervalMs, tick));
    };
    every("drift", this.#options.driftRepairIntervalMs, () => void this.#driftPass());
    every("resync", this.#options.fullResyncIntervalMs, () => this.#markDirty());
    void this.#driftPass().then(() => this.#wakeAt(this.#ports.clock.now()));
  }

  /** Stops reacting to events and timers. Work already handed to ARM finishes; its writes stay fenced. */
  stop(): void {
    this.#started = false;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    for (const timer of this.#periodic.values()) timer.cancel();
    this.#periodic.clear();
    for (const timer of this.#refreshes.values()) timer.cancel();
    this.#refreshes.clear();
    this.#wake?.timer.cancel();
    this.#wake = undefined;
  }

  /**
   * Resolves when no planning pass and no VM/VMSS work is running any more (after {@link stop}, nothing new
   * starts). A graceful shutdown waits for this before giving up the Lease, so the PATCHes in flight get
   * their status writes instead of leaving `Created` objects for the next leader to recover.
   */
  whenIdle(): Promise<void> {
    if (!this.#cycleRunning && this.#busy.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #notifyIfIdle(): void {
    if (this.#cycleRunning || this.#busy.size > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #markDirty(): void {
    this.#wakeAt(this.#ports.clock.now() + this.#options.batchWindowMs);
  }

  /** Ensures a planning pass runs no later than `atMs` (one timer, the earliest wins). */
  #wakeAt(atMs: number): void {
    if (!this.#started) return;
    if (this.#wake !== undefined && this.#wake.atMs <= atMs) return;
    this.#wake?.timer.cancel();
    const delay = Math.max(0, atMs - this.#ports.clock.now());
    this.#wake = { atMs, timer: this.#ports.clock.setTimer(delay, () => {
      this.#wake = undefined;
      void this.#cycle();
    }) };
  }

  async #cycle(): Promise<void> {
    if (this.#cycleRunning) {
      this.#rerun = true;
      return;
    }
    this.#cycleRunning = true;
    try {
      if (this.#ports.isLeader()) await this.#planAndDispatch();
    } catch (error) {
      this.#ports.logger.error({ err: error }, "planning pass failed");
      this.#markDirty();
    } finally {
      this.#cycleRunning = false;
      if (this.#rerun) {
        this.#rerun = false;
        this.#markDirty();
      }
      this.#notifyIfIdle();
    }
  }

  async #planAndDispatch(): Promise<void> {
    const { reader, clock, logger, metrics } = this.#ports;
    const started = clock.now();
    this.#gates = pruneGates(this.#gates, started);
    const desired = matchAssignments(
      {
        pods: reader.list("pods"),
        bindings: reader.list("azureidentitybindings"),
        identities: reader.list("azureidentities"),
      },
      { forceNamespaced: this.#options.forceNamespaced },
    ).assignments;
    const nodes = reader.list("nodes");
    const observed = new Map([...this.#known].map(([key, entry]) => [key, entry.state]));
    // Leaving `Created` objects whose PATCH may have landed (or still runs) after a leader died: detach
    // what is attached, and wait for a settled read where ARM is still working.
    const recovery = recoverLeavingCreated({ desired, current: reader.list("azureassignedidentities"), nodes, observed });
    if (recovery.waiting.length > 0) this.#scheduleRefreshes(recovery.waiting, nodes);
    const fullPlan = planReconcile({
      desired,
      current: recovery.current,
      nodes,
      observed,
      policy: {
        immutableIdentities: this.#options.immutableIdentities,
        ...(this.#options.clusterIdentity === undefined ? {} : { clusterIdentity: this.#options.clusterIdentity }),
        quarantine: this.#quarantine,
      },
      nowMs: started,
    });
    this.stats.cycles++;
    const plan = this.#withoutBusyTargets(fullPlan);
    const execution = new PlanExecution(
      { writer: this.#writer, compute: this.#compute, logger, ...(this.#ports.events === undefined ? {} : { events: this.#ports.events }) },
      { now: () => clock.now(), writeConcurrency: this.#options.writeConcurrency, maxRefusedIdentityRetries: this.#options.maxRefusedIdentityRetries },
      this.#quarantine,
    );
    await execution.objectWrites(plan);
    const dispatched = this.#dispatch(plan, execution);
    const work = hasObjectWork(plan) || dispatched > 0;
    if (work) {
      this.stats.cyclesWithWork++;
      logger.info(
        {
          creates: plan.creates.length,
          updates: plan.updates.length,
          confirms: plan.confirms.length,
          deletes: plan.releases.length + plan.orphans.length,
          targets: plan.targets.length,
          dispatched,
          held: plan.held.length,
        },
        "planning pass",
      );
    }
    metrics?.increment(METRIC.micCycleCount);
    metrics?.observe(METRIC.micCycleDuration, {}, (clock.now() - started) / 1000);
    if (plan.deferred.length > 0 || execution.writeFailures.length > 0) this.#markDirty();
    const nextHeld = Math.min(...plan.held.map((held) => held.untilMs));
    if (Number.isFinite(nextHeld)) this.#wakeAt(nextHeld);
  }

  /**
   * Leaves out object work on VMs/VMSS with a PATCH in flight: releasing an object whose attach is still
   * running could strand the identity on the VM. That work is planned again when the target is free.
   */
  #withoutBusyTargets(plan: ReconcilePlan): ReconcilePlan {
    if (this.#busy.size === 0) return plan;
    const busyNodes = new Set<string>();
    for (const node of this.#ports.reader.list("nodes")) {
      const parsed = parseProviderId(node.providerID);
      if (parsed.ok && this.#busy.has(computeTargetKey(parsed.value.target))) busyNodes.add(node.metadata.name);
    }
    const free = (aai: { spec: { nodeName: string } }) => !busyNodes.has(aai.spec.nodeName);
    return {
      ...plan,
      updates: plan.updates.filter(free),
      confirms: plan.confirms.filter(free),
      releases: plan.releases.filter(free),
    };
  }

  /** Starts every target that is free and not gated; returns how many started. */
  #dispatch(plan: ReconcilePlan, execution: PlanExecution): number {
    const now = this.#ports.clock.now();
    let started = 0;
    for (const target of plan.targets) {
      if (this.#busy.has(target.key)) continue; // replanned when it finishes
      const opensAt = gateOpensAt(this.#gates, target.target, target.key, now);
      if (opensAt !== undefined) {
        this.#wakeAt(opensAt);
        continue;
      }
      if (this.#busy.size >= this.#options.targetConcurrency) {
        this.#rerun = true;
        continue;
      }
      this.#busy.add(target.key);
      started++;
      void this.#runTarget(execution, target);
    }
    return started;
  }

  async #runTarget(execution: PlanExecution, target: TargetPlan): Promise<void> {
    const { clock, logger } = this.#ports;
    try {
      this.stats.targetRuns++;
      const outcome = await execution.target(target);
      this.#absorb(target, outcome, execution.quarantine);
    } catch (error) {
      logger.error({ err: error, target: target.key }, "target work failed");
      this.#backOff(target.target, target.key);
    } finally {
      this.#busy.delete(target.key);
      this.#markDirty();
      this.#notifyIfIdle();
    }
  }

  /** Folds one target's outcome into the controller's memory: identity block, quarantine, gates. */
  #absorb(target: TargetPlan, outcome: TargetOutcome, executionQuarantine: QuarantineState): void {
    const now = this.#ports.clock.now();
    if (outcome.finalState !== undefined) this.#known.set(target.key, { state: outcome.finalState, atMs: now });
    // A PATCH was sent but neither its answer nor a read-back arrived (throttled or failed after ARM
    // accepted it): what the VM/VMSS holds now is unknown, so the old reading must not be trusted — a
    // leaving `Created` object would otherwise be deleted while its identity may have just been attached.
    else if (outcome.patches > 0) this.#known.delete(target.key);
    if (outcome.quarantined.length > 0) {
      const next = new Map(this.#quarantine);
      for (const key of outcome.quarantined) {
        const entry = executionQuarantine.get(key);
        if (entry !== undefined) next.set(key, entry);
      }
      this.#quarantine = next;
    }
    const attached = outcome.finalState?.userAssignedIdentityIds.map((id) => id.toLowerCase()) ?? [];
    this.#quarantine = releaseIdentities(this.#quarantine, attached);
    const error = outcome.error;
    if (error === undefined) {
      this.#failures.delete(target.key);
      return;
    }
    if (error.kind === "throttled") {
      this.stats.throttled++;
      this.#gates = closeGate(this.#gates, target.target, target.key, error.scope, now + error.retryAfterMs);
      this.#wakeAt(now + error.retryAfterMs);
      return;
    }
    if (error.kind === "forbidden" && !this.#ports.isLeader()) return;
    this.#backOff(target.target, target.key);
  }

  #backOff(target: ComputeTarget, key: string): void {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const { initialMs, maxMs } = this.#options.failureBackoff;
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
    const until = this.#ports.clock.now() + delay;
    this.#gates = closeGate(this.#gates, target, key, "target", until);
    this.#wakeAt(until);
  }

  /**
   * Re-reads, after `operationPollMs`, each VM/VMSS that leaving `Created` objects wait on (an operation was
   * running on it, or it was never read), then plans again. At most one pending read per target.
   */
  #scheduleRefreshes(waiting: readonly WaitingLeavingObject[], nodes: readonly { readonly metadata: { readonly name: string }; readonly providerID: string }[]): void {
    const byName = new Map(nodes.map((node) => [node.metadata.name, node]));
    const { clock, logger } = this.#ports;
    for (const entry of waiting) {
      if (this.#refreshes.has(entry.targetKey) || this.#busy.has(entry.targetKey)) continue;
      const node = byName.get(entry.object.spec.nodeName);
      const parsed = node === undefined ? undefined : parseProviderId(node.providerID);
      if (parsed === undefined || !parsed.ok) continue;
      const target = parsed.value.target;
      const now = clock.now();
      const at = Math.max(now + this.#options.operationPollMs, gateOpensAt(this.#gates, target, entry.targetKey, now) ?? 0);
      logger.info({ target: entry.targetKey, object: `${entry.object.metadata.namespace}/${entry.object.metadata.name}`, reason: entry.reason }, "leaving Created object waits for a settled read of its VM/VMSS");
      this.#refreshes.set(
        entry.targetKey,
        clock.setTimer(at - now, () => void this.#refresh(entry.targetKey, target)),
      );
    }
  }

  async #refresh(key: string, target: ComputeTarget): Promise<void> {
    if (!this.#started) return;
    try {
      if (this.#busy.has(key) || gateOpensAt(this.#gates, target, key, this.#ports.clock.now()) !== undefined) return;
      const read = await this.#compute.getIdentities(target);
      if (read.ok) this.#known.set(key, { state: read.value, atMs: this.#ports.clock.now() });
      else if (read.error.kind === "throttled") this.#gates = closeGate(this.#gates, target, key, read.error.scope, this.#ports.clock.now() + read.error.retryAfterMs);
    } finally {
      this.#refreshes.delete(key);
      this.#markDirty();
    }
  }

  /**
   * Reads each VM/VMSS that holds (or should hold) our identities, unless it was read or patched within the
   * interval, busy, or gated; plans again only when something differs from what the controller knew.
   */
  async #driftPass(): Promise<void> {
    const { reader, clock } = this.#ports;
    const now = clock.now();
    const targets = new Map<string, ComputeTarget>();
    const nodes = new Map(reader.list("nodes").map((node) => [node.metadata.name, node]));
    for (const aai of reader.list("azureassignedidentities")) {
      if (lifecycleStateOf(aai.status) === "Unassigned") continue;
      const node = nodes.get(aai.spec.nodeName);
      const parsed = node === undefined ? undefined : parseProviderId(node.providerID);
      if (parsed?.ok === true) targets.set(computeTargetKey(parsed.value.target), parsed.value.target);
    }
    let changed = false;
    for (const [key, target] of targets) {
      const known = this.#known.get(key);
      if (known !== undefined && now - known.atMs < this.#options.driftRepairIntervalMs) continue;
      if (this.#busy.has(key) || gateOpensAt(this.#gates, target, key, now) !== undefined) continue;
      this.stats.driftReads++;
      const read = await this.#compute.getIdentities(target);
      if (!read.ok) {
        if (read.error.kind === "throttled") this.#gates = closeGate(this.#gates, target, key, read.error.scope, clock.now() + read.error.retryAfterMs);
        continue;
      }
      if (known === undefined || !sameIdentityBlock(known.state, read.value)) changed = true;
      // Stamped with the pass's start, so the next pass (one interval later) reads it again.
      this.#known.set(key, { state: read.value, atMs: now });
    }
    if (changed) this.#markDirty();
  }
}

function hasObjectWork(plan: ReconcilePlan): boolean {
  return plan.creates.length + plan.updates.length + plan.confirms.length + plan.releases.length + plan.orphans.length > 0;
}

function sameIdentityBlock(a: ComputeIdentityState, b: ComputeIdentityState): boolean {
  const ids = (state: ComputeIdentityState) => state.userAssignedIdentityIds.map((id) => id.toLowerCase()).sort().join(",");
  return a.type === b.type && ids(a) === ids(b);
}
