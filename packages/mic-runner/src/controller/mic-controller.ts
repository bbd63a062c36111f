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

/** Backoff after a non-throttling ARM failure on a target: 5 s doubling to 5 min. */
const FAILURE_BACKOFF_MS = { initial: 5_000, max: 300_000 };

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
  #periodic: TimerHandle[] = [];
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
    const every = (intervalMs: number, run: () => void) => {
      const tick = () => {
        run();
        this.#periodic.push(clock.setTimer(intervalMs, tick));
      };
      this.#periodic.push(clock.setTimer(intervalMs, tick));
    };
    every(this.#options.driftRepairIntervalMs, () => void this.#driftPass());
    every(this.#options.fullResyncIntervalMs, () => this.#markDirty());
    void this.#driftPass().then(() => this.#wakeAt(this.#ports.clock.now()));
  }

  /** Stops reacting to events and timers. Work already handed to ARM finishes; its writes stay fenced. */
  stop(): void {
    this.#started = false;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    for (const timer of this.#periodic.splice(0)) timer.cancel();
    this.#wake?.timer.cancel();
    this.#wake = undefined;
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
    const fullPlan = planReconcile({
      desired,
      current: reader.list("azureassignedidentities"),
      nodes: reader.list("nodes"),
      observed: new Map([...this.#known].map(([key, entry]) => [key, entry.state])),
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
    }
  }

  /** Folds one target's outcome into the controller's memory: identity block, quarantine, gates. */
  #absorb(target: TargetPlan, outcome: TargetOutcome, executionQuarantine: QuarantineState): void {
    const now = this.#ports.clock.now();
    if (outcome.finalState !== undefined) this.#known.set(target.key, { state: outcome.finalState, atMs: now });
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
    const delay = Math.min(FAILURE_BACKOFF_MS.max, FAILURE_BACKOFF_MS.initial * 2 ** (failures - 1));
    const until = this.#ports.clock.now() + delay;
    this.#gates = closeGate(this.#gates, target, key, "target", until);
    this.#wakeAt(until);
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
