import {
  computeTargetKey,
  federatedIdentityKey,
  IdentityQuarantine,
  isAssignmentRelevantPodChange,
  lifecycleStateOf,
  matchAssignments,
  METRIC,
  parseProviderId,
  PlanExecution,
  planReconcile,
  recoverLeavingCreated,
  type AssignedIdentityWriterPort,
  type AzureAssignedIdentity,
  type ComputeIdentityState,
  type ComputePort,
  type ComputeTarget,
  type KubeError,
  type KubeReaderPort,
  type QuarantineState,
  type ReconcilePlan,
  type Result,
  type TargetOutcome,
  type TargetPlan,
  type Unsubscribe,
  type WaitingLeavingObject,
} from "@podid/core";
import { FederatedCredentialWork, type FederatedCredentialWorkPorts } from "./federated-credential-work.js";
import { fenceCompute, fenceWriter } from "./leader-fencing.js";
import { DEFAULT_MIC_CONTROLLER_OPTIONS, type MicControllerOptions } from "./mic-options.js";
import { TargetGates } from "./target-gates.js";
import { TargetWorkQueue } from "./target-work-queue.js";

/**
 * Everything the controller talks to: the cluster and compute, plus what its federated-credential work uses
 * (clock, logger, events, metrics, leadership, credentials, issuer), declared once in {@link FederatedCredentialWorkPorts}.
 */
export interface MicControllerPorts extends FederatedCredentialWorkPorts {
  readonly reader: KubeReaderPort;
  readonly writer: AssignedIdentityWriterPort;
  readonly compute: ComputePort;
}

/** Counters for probes, logs and the scale simulation. */
export interface MicControllerStats {
  cycles: number;
  cyclesWithWork: number;
  targetRuns: number;
  driftReads: number;
  throttled: number;
}

/** Keys of the controller's own passes in its pass queue. */
const PLAN = "plan";
const DRIFT = "drift";

/** One VM/VMSS's share of a planning pass: its plan and the execution that wrote its objects. */
interface TargetWork {
  readonly execution: PlanExecution;
  readonly plan: TargetPlan;
}

/**
 * MIC's engine. Informer events mark work; after a short batch window one planning pass (match → plan) writes
 * the AzureAssignedIdentities and hands each VM/VMSS its own work item, which runs as soon as that target is
 * free and not throttled — one PATCH per VM/VMSS per batch carrying all its adds and removes, and a slow or
 * throttled scale set never delays the others (the original ran one full cycle per event and waited for every
 * node's PATCH, docs/compatibility.md#reconcile-algorithm). Identity blocks read or returned by ARM are
 * remembered and fed back to the planner, which confirms `Created` objects after a restart and re-attaches
 * identities removed out of band; a drift pass reads each VM/VMSS at most once per interval, skipping those
 * the controller read or patched within it.
 *
 * Each concern has one owner: when things run is the {@link TargetWorkQueue}s' (passes; VM/VMSS work;
 * settled re-reads), when ARM may be called for a target is {@link TargetGates}' (Retry-After and failure
 * backoff), and which identities ARM refused is the term's {@link IdentityQuarantine}, written by every
 * `PlanExecution` directly. What is left here is events → queue → plan → execute.
 */
export class MicController {
  readonly stats: MicControllerStats = { cycles: 0, cyclesWithWork: 0, targetRuns: 0, driftReads: 0, throttled: 0 };
  readonly #ports: MicControllerPorts;
  readonly #options: MicControllerOptions;
  readonly #writer: AssignedIdentityWriterPort;
  readonly #compute: ComputePort;
  readonly #quarantine = new IdentityQuarantine();
  readonly #gates: TargetGates;
  /** Planning and drift passes: each runs alone and once more after itself when marked meanwhile. */
  readonly #passes: TargetWorkQueue<{ readonly planAfter: boolean }>;
  /** VM/VMSS work by target key, carrying what the last planning pass planned for it. */
  readonly #targets: TargetWorkQueue<TargetWork>;
  /** Settled re-reads of VMs/VMSS that leaving `Created` objects wait on (see `recoverLeavingCreated`). */
  readonly #reads: TargetWorkQueue<ComputeTarget>;
  /** Federated identity credentials of type-3 identities, one run per identity at a time. */
  readonly #credentials: FederatedCredentialWork;
  /** The identity block of each VM/VMSS as last read or returned by ARM, and when. */
  readonly #known = new Map<string, { state: ComputeIdentityState; atMs: number }>();
  readonly #unsubscribe: Unsubscribe[] = [];
  #phase: "new" | "running" | "stopped" = "new";
  /** resourceVersion of each AzureAssignedIdentity as this controller last wrote it (by namespace/name). */
  readonly #written = new Map<string, string>();
  /** AzureAssignedIdentities someone else created or changed since the last planning pass (by namespace/name). */
  readonly #unplanned = new Set<string>();
  /** True once a planning pass ran: events before it are the initial list, not someone's edit. */
  #planned = false;

  constructor(ports: MicControllerPorts, options: Partial<MicControllerOptions> = {}) {
    this.#ports = ports;
    this.#options = { ...DEFAULT_MIC_CONTROLLER_OPTIONS, ...options };
    const { clock, logger } = ports;
    this.#gates = new TargetGates(() => clock.now(), this.#options.failureBackoff);
    this.#writer = this.#recordingWrites(fenceWriter(ports.writer, ports.isLeader));
    // Every ARM answer passes the gates, so a 429 anywhere (target work, drift, re-reads) holds that target.
    this.#compute = fenceCompute(this.#gates.recording(ports.compute), ports.isLeader);
    const onError = (error: unknown, key: string) => logger.error({ err: error, key }, "controller work failed");
    this.#passes = new TargetWorkQueue(clock, { run: (key, pass) => (key === PLAN ? this.#plan() : this.#drift(pass?.planAfter === true)), onError });
    this.#targets = new TargetWorkQueue(clock, { concurrency: this.#options.targetConcurrency, run: (_key, work) => this.#runTarget(work), onError });
    this.#reads = new TargetWorkQueue(clock, { concurrency: this.#options.targetConcurrency, run: (key, target) => this.#refresh(key, target), onError });
    this.#credentials = new FederatedCredentialWork(
      ports,
      { concurrency: this.#options.targetConcurrency, resyncIntervalMs: this.#options.fullResyncIntervalMs, failureBackoff: this.#options.failureBackoff },
      (atMs) => (atMs === undefined ? this.#markDirty() : this.#passes.mark(PLAN, atMs)),
    );
  }

  /** Identities currently quarantined (for `podid explain` and metrics). */
  get quarantine(): QuarantineState {
    return this.#quarantine.state;
  }

  /** True when nothing is running or scheduled within the batch window. */
  isIdle(): boolean {
    const soon = this.#ports.clock.now() + this.#options.batchWindowMs;
    return (
      !this.#passes.isRunning(PLAN) &&
      this.#targets.size === 0 &&
      this.#credentials.size === 0 &&
      (this.#passes.dueAt(PLAN) ?? Number.POSITIVE_INFINITY) > soon
    );
  }

  /** Subscribes to cluster changes and runs the start-up pass (read every VM/VMSS in use, then plan). */
  start(): void {
    if (this.#phase !== "new") return;
    this.#phase = "running";
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
        const key = `${event.object.metadata.namespace}/${event.object.metadata.name}`;
        if (event.type === "deleted") {
          this.#written.delete(key);
          this.#markDirty();
          return;
        }
        // A create or update that is not this controller's own write: someone else's object or edit, which
        // the next pass deletes (not planned) or rewrites (differs from the plan) — within the batch window,
        // not at the next full resync. MIC's own writes are recognised by the resourceVersion they returned
        // (an event that overtakes its write's answer only costs one pass with nothing to do).
        if (this.#written.get(key) === event.object.metadata.resourceVersion) return;
        if (this.#planned) this.#unplanned.add(key);
        this.#markDirty();
      }),
    );
    this.#passes.mark(DRIFT, undefined, { planAfter: true });
  }

  /**
   * Stops reacting to events and timers for good (a new term gets a new controller). Work already handed
   * to ARM finishes; its writes stay fenced.
   */
  stop(): void {
    this.#phase = "stopped";
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    for (const queue of [this.#passes, this.#targets, this.#reads]) queue.stop();
    this.#credentials.stop();
  }

  /**
   * Resolves when no planning pass and no VM/VMSS work is running any more (after {@link stop}, nothing new
   * starts). A graceful shutdown waits for this before giving up the Lease, so the PATCHes in flight get
   * their status writes instead of leaving `Created` objects for the next leader to recover.
   */
  async whenIdle(): Promise<void> {
    while (this.#passes.running > 0 || this.#targets.running > 0 || this.#credentials.running > 0) {
      await Promise.all([this.#passes.whenIdle(), this.#targets.whenIdle(), this.#credentials.whenIdle()]);
    }
  }

  #markDirty(): void {
    this.#passes.mark(PLAN, this.#ports.clock.now() + this.#options.batchWindowMs);
  }

  async #plan(): Promise<void> {
    if (!this.#ports.isLeader()) return;
    try {
      await this.#planAndDispatch();
    } catch (error) {
      this.#ports.logger.error({ err: error }, "planning pass failed");
      this.#markDirty();
    }
  }

  async #planAndDispatch(): Promise<void> {
    const { reader, clock, logger, metrics } = this.#ports;
    const started = clock.now();
    // Work an earlier pass planned that still waits for a free slot is stale now; this pass plans it again
    // (and, since it is not running, may write its objects — see `#withoutBusyTargets`).
    this.#targets.dropPending();
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
        quarantine: this.#quarantine.state,
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
    this.#reportUnplanned(plan);
    await execution.writesBeforeCreates(plan);
    // Pipelined: each VM/VMSS's work is queued at once and its PATCH starts as soon as one object per
    // identity it attaches is Created, while the remaining creates go on (ADR 13). Waiting for every
    // create in the cluster first cost minutes per burst at a client-side rate limit.
    const creating = execution.createAndConfirm(plan);
    // Type-3 identities: credential runs per identity instead of PATCHes (docs/adr/0021-federated-identities.md).
    const dispatched = this.#dispatch(plan, execution) + (await this.#credentials.dispatch(plan, execution));
    this.#credentials.reportUntrusted(plan);
    await creating;
    if (hasObjectWork(plan) || dispatched > 0) {
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
    for (const held of plan.held) this.#passes.mark(PLAN, held.untilMs);
    // `--syncRetryDuration`: an unconditional pass at least this often, whatever else happens.
    this.#passes.mark(PLAN, started + this.#options.fullResyncIntervalMs);
  }

  /** Wraps `writer` to remember the resourceVersion of every object this controller writes. */
  #recordingWrites(writer: AssignedIdentityWriterPort): AssignedIdentityWriterPort {
    const remember = (result: Result<AzureAssignedIdentity, KubeError>): Result<AzureAssignedIdentity, KubeError> => {
      if (result.ok && result.value.metadata.resourceVersion !== undefined) {
        this.#written.set(`${result.value.metadata.namespace}/${result.value.metadata.name}`, result.value.metadata.resourceVersion);
      }
      return result;
    };
    return {
      create: async (identity) => remember(await writer.create(identity)),
      update: async (identity) => remember(await writer.update(identity)),
      setStatus: async (identity, status) => remember(await writer.setStatus(identity, status)),
      delete: async (identity) => {
        const result = await writer.delete(identity);
        if (result.ok) this.#written.delete(`${identity.metadata.namespace}/${identity.metadata.name}`);
        return result;
      },
    };
  }

  /**
   * A Warning Event on each AzureAssignedIdentity someone else created or changed that this pass deletes
   * (no binding and identity grant it: forged or stale) or rewrites (it differed from the plan).
   */
  #reportUnplanned(plan: ReconcilePlan): void {
    this.#planned = true;
    if (this.#unplanned.size === 0) return;
    const keyOf = (aai: AzureAssignedIdentity) => `${aai.metadata.namespace}/${aai.metadata.name}`;
    const record = (aai: AzureAssignedIdentity, reason: string, message: string): void => {
      if (!this.#unplanned.has(keyOf(aai))) return;
      this.#ports.logger.warn({ assignedIdentity: keyOf(aai), pod: `${aai.spec.podNamespace}/${aai.spec.pod}`, reason }, message);
      this.#ports.events?.record(
        { kind: "AzureAssignedIdentity", apiVersion: "aadpodidentity.k8s.io/v1", namespace: aai.metadata.namespace, name: aai.metadata.name },
        "Warning",
        reason,
        message,
      );
    };
    const removed = [...plan.releases, ...plan.orphans, ...plan.targets.flatMap((t) => t.detach)];
    for (const aai of removed) record(aai, "UnplannedAssignedIdentity", "AzureAssignedIdentity not written by MIC and granted by no binding and identity: deleting it");
    for (const aai of plan.updates) record(aai, "AssignedIdentityRepaired", "AzureAssignedIdentity changed by someone else: rewritten from the live binding and identity");
    this.#unplanned.clear();
  }

  /**
   * Leaves out object work on VMs/VMSS with a PATCH in flight: releasing an object whose attach is still
   * running could strand the identity on the VM. That work is planned again when the target is free.
   */
  #withoutBusyTargets(plan: ReconcilePlan): ReconcilePlan {
    if (this.#targets.running === 0) return plan;
    const busyNodes = new Set<string>();
    for (const node of this.#ports.reader.list("nodes")) {
      const parsed = parseProviderId(node.providerID);
      if (parsed.ok && this.#targets.isRunning(computeTargetKey(parsed.value.target))) busyNodes.add(node.metadata.name);
    }
    const free = (aai: { spec: { nodeName: string } }) => !busyNodes.has(aai.spec.nodeName);
    return {
      ...plan,
      updates: plan.updates.filter(free),
      confirms: plan.confirms.filter(free),
      releases: plan.releases.filter(free),
    };
  }

  /**
   * Queues the work of every target that is free and whose gates are open; a gated target is planned again
   * when its gates open, without a worker waiting on it. Returns how many were queued.
   */
  #dispatch(plan: ReconcilePlan, execution: PlanExecution): number {
    let queued = 0;
    for (const target of plan.targets) {
      if (this.#targets.isRunning(target.key)) continue; // planned again when it finishes
      const opensAt = this.#gates.opensAt(target.target);
      if (opensAt !== undefined) {
        this.#passes.mark(PLAN, opensAt);
        continue;
      }
      this.#targets.mark(target.key, undefined, { execution, plan: target });
      queued++;
    }
    return queued;
  }

  async #runTarget(work: TargetWork | undefined): Promise<void> {
    if (work === undefined) return;
    const { plan } = work;
    try {
      this.stats.targetRuns++;
      this.#remember(plan, await work.execution.target(plan));
    } catch (error) {
      this.#ports.logger.error({ err: error, target: plan.key }, "target work failed");
      this.#gates.failed(plan.target);
    } finally {
      this.#markDirty();
    }
  }

  /** Keeps what a VM/VMSS's work learnt: its identity block, and whether to back off (the quarantine and Retry-After are already recorded). */
  #remember(plan: TargetPlan, outcome: TargetOutcome): void {
    if (outcome.finalState !== undefined) this.#known.set(plan.key, { state: outcome.finalState, atMs: this.#ports.clock.now() });
    // A PATCH was sent but neither its answer nor a read-back arrived (throttled or failed after ARM
    // accepted it): what the VM/VMSS holds now is unknown, so the old reading must not be trusted — a
    // leaving `Created` object would otherwise be deleted while its identity may have just been attached.
    else if (outcome.patches > 0) this.#known.delete(plan.key);
    const error = outcome.error;
    if (error === undefined) this.#gates.succeeded(plan.target);
    else if (error.kind === "throttled") this.stats.throttled++;
    else if (error.kind !== "forbidden" || this.#ports.isLeader()) this.#gates.failed(plan.target);
  }

  /**
   * Queues a re-read, after `operationPollMs` (or when its read gate opens), of each VM/VMSS that leaving
   * `Created` objects wait on (an operation was running on it, or it was never read). At most one per target.
   */
  #scheduleRefreshes(waiting: readonly WaitingLeavingObject[], nodes: readonly { readonly metadata: { readonly name: string }; readonly providerID: string }[]): void {
    const byName = new Map(nodes.map((node) => [node.metadata.name, node]));
    const now = this.#ports.clock.now();
    for (const entry of waiting) {
      if (this.#reads.has(entry.targetKey) || this.#targets.isRunning(entry.targetKey)) continue;
      const node = byName.get(entry.object.spec.nodeName);
      const parsed = node === undefined ? undefined : parseProviderId(node.providerID);
      if (parsed === undefined || !parsed.ok) continue;
      const target = parsed.value.target;
      this.#ports.logger.info({ target: entry.targetKey, object: `${entry.object.metadata.namespace}/${entry.object.metadata.name}`, reason: entry.reason }, "leaving Created object waits for a settled read of its VM/VMSS");
      this.#reads.mark(entry.targetKey, Math.max(now + this.#options.operationPollMs, this.#gates.opensAt(target, ["read"]) ?? 0), target);
    }
  }

  async #refresh(key: string, target: ComputeTarget | undefined): Promise<void> {
    if (target === undefined) return;
    try {
      if (this.#targets.isRunning(key) || this.#gates.opensAt(target, ["read"]) !== undefined) return;
      const read = await this.#compute.getIdentities(target);
      if (read.ok) this.#known.set(key, { state: read.value, atMs: this.#ports.clock.now() });
    } finally {
      this.#markDirty();
    }
  }

  /** One drift pass, then the next one an interval after this one started (and, at start-up, a planning pass). */
  async #drift(planAfter: boolean): Promise<void> {
    const started = this.#ports.clock.now();
    try {
      await this.#driftPass();
    } finally {
      this.#passes.mark(DRIFT, started + this.#options.driftRepairIntervalMs);
      if (planAfter) this.#passes.mark(PLAN);
    }
  }

  /**
   * Reads each VM/VMSS that holds (or should hold) our identities, unless it was read or patched within the
   * interval, busy, or its read gate is closed; plans again only when something differs from what the
   * controller knew.
   */
  async #driftPass(): Promise<void> {
    const { reader, clock } = this.#ports;
    const now = clock.now();
    const targets = new Map<string, ComputeTarget>();
    const nodes = new Map(reader.list("nodes").map((node) => [node.metadata.name, node]));
    for (const aai of reader.list("azureassignedidentities")) {
      // A federated identity is on no VM/VMSS: nothing there to read for it.
      if (lifecycleStateOf(aai.status) === "Unassigned" || federatedIdentityKey(aai.spec.azureIdentityRef) !== undefined) continue;
      const node = nodes.get(aai.spec.nodeName);
      const parsed = node === undefined ? undefined : parseProviderId(node.providerID);
      if (parsed?.ok === true) targets.set(computeTargetKey(parsed.value.target), parsed.value.target);
    }
    let changed = false;
    for (const [key, target] of targets) {
      if (this.#phase === "stopped") break; // a shutdown waits for this pass; the next term reads again
      const known = this.#known.get(key);
      if (known !== undefined && now - known.atMs < this.#options.driftRepairIntervalMs) continue;
      if (this.#targets.isRunning(key) || this.#gates.opensAt(target, ["read"]) !== undefined) continue;
      this.stats.driftReads++;
      const read = await this.#compute.getIdentities(target);
      if (!read.ok) continue;
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
