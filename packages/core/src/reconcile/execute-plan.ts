import type { ComputeIdentityState } from "../azure-ids/types.js";
import { lifecycleStateOf, transition, type LifecycleEvent, type IllegalTransition } from "../lifecycle/assigned-identity-lifecycle.js";
import type { AzureAssignedIdentity } from "../model/types.js";
import type { ComputeError, ComputePort } from "../ports/compute.port.js";
import type { EventRecorderPort } from "../ports/event-recorder.port.js";
import type { KubeError } from "../ports/kube-errors.js";
import type { AssignedIdentityWriterPort } from "../ports/kube-writer.port.js";
import type { LoggerPort } from "../ports/logger.port.js";
import { managedIdentityKey } from "./assignment-comparison.js";
import { BINDING_EVENT, bindingOf, identityLabel } from "./binding-events.js";
import { forEachBounded } from "./bounded-all.js";
import { orderCreates } from "./create-order.js";
import { planIdentityPatches } from "./identity-delta.js";
import { assignedIdentityObject, FEDERATED_EVENT } from "./federated-events.js";
import type { CredentialSyncOutcome, FederatedCredentialExecutor } from "./federated-credentials.js";
import type { FederatedIdentityPlan, ReconcilePlan, TargetPlan } from "./plan.js";
import { DEFAULT_QUARANTINE_POLICY, IdentityQuarantine, type QuarantinePolicy, type QuarantineState } from "./quarantine.js";

/** The ports an executor drives. */
export interface ExecutorPorts {
  readonly writer: AssignedIdentityWriterPort;
  readonly compute: ComputePort;
  readonly events?: EventRecorderPort;
  readonly logger?: LoggerPort;
}

/** Tuning of an execution (defaults mirror the original's flags). */
export interface ExecutorOptions {
  /** Current time in ms (quarantine bookkeeping). */
  readonly now: () => number;
  /** `--createDeleteBatch`: concurrent object writes (default 20). */
  readonly writeConcurrency?: number;
  /** VMs/VMSS worked on at once (default 16). */
  readonly targetConcurrency?: number;
  /** `--update-user-msi-max-retry`: PATCH retries after leaving refused identities out (default 2). */
  readonly maxRefusedIdentityRetries?: number;
  /** Quarantine periods of {@link executeReconcilePlan}'s own quarantine (a `PlanExecution` uses its holder's). */
  readonly quarantinePolicy?: QuarantinePolicy;
}

/** What happened on one VM/VMSS. */
export interface TargetOutcome {
  readonly key: string;
  readonly gets: number;
  readonly patches: number;
  /** The error that stopped the work, if any (throttling carries how long to wait). */
  readonly error?: ComputeError;
  /** Identity keys quarantined while working on this target. */
  readonly quarantined: readonly string[];
  /** The identity block read or returned last (undefined when no read succeeded). */
  readonly finalState?: ComputeIdentityState;
}

/** What happened for one federated identity: the credential run and how many waiting objects it settled. */
export interface FederatedOutcome {
  readonly key: string;
  readonly sync: CredentialSyncOutcome;
  /** Objects marked `Assigned`. */
  readonly confirmed: number;
  /** Objects left `Created` because the identity is at its credential cap. */
  readonly refused: number;
}

/** A failed object write (left for the next pass to retry). */
export interface WriteFailure {
  readonly object: string;
  readonly operation: "create" | "update" | "setStatus" | "delete";
  readonly error: KubeError;
}

/** The outcome of executing a plan. */
export interface ExecutionReport {
  readonly quarantine: QuarantineState;
  readonly targets: readonly TargetOutcome[];
  readonly writeFailures: readonly WriteFailure[];
  /** Lifecycle violations (bugs) found while executing; always empty in a correct controller. */
  readonly lifecycleErrors: readonly IllegalTransition[];
}

const STATUS_OF = { markCreated: "Created", markAssigned: "Assigned", markUnassigned: "Unassigned" } as const;
const nameOf = (aai: AzureAssignedIdentity): string => `${aai.metadata.namespace}/${aai.metadata.name}`;

/**
 * Carries out a {@link ReconcilePlan} through the ports in the crash-safe order: objects are created
 * `Created` before any PATCH that attaches their identity, marked `Assigned` only after ARM confirmed it, and
 * deleted only after ARM confirmed the detach. A PATCH refused for particular identities
 * (LinkedAuthorizationFailed, FailedIdentityOperation) is retried without them and they are quarantined, so
 * the rest of the batch lands. After any failed PATCH the VM/VMSS is read back and each object's fate follows
 * the real state (the original's step 9d, docs/compatibility.md#reconcile-cycle-steps). Nothing here throws;
 * failures are reported.
 */
export async function executeReconcilePlan(
  plan: ReconcilePlan,
  quarantine: QuarantineState,
  ports: ExecutorPorts,
  options: ExecutorOptions,
): Promise<ExecutionReport> {
  const run = new PlanExecution(ports, options, new IdentityQuarantine(quarantine, options.quarantinePolicy ?? DEFAULT_QUARANTINE_POLICY));
  await run.objectWrites(plan);
  const outcomes: TargetOutcome[] = [];
  await forEachBounded(plan.targets, options.targetConcurrency ?? 16, async (target) => {
    outcomes.push(await run.target(target));
  });
  outcomes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return run.report(outcomes);
}

/**
 * The steps of {@link executeReconcilePlan} for controllers that schedule them themselves: first
 * {@link PlanExecution.objectWrites} for the whole plan, then {@link PlanExecution.target} for each
 * VM/VMSS whenever that target is free — so a slow or throttled scale set never delays the others.
 * Pipelined controllers split the first step: {@link PlanExecution.writesBeforeCreates}, then
 * {@link PlanExecution.createAndConfirm} while the targets already run — a target's PATCH waits only until one
 * object per identity it attaches is `Created`, and each object's `Assigned` write only for that object's
 * own create (docs/adr/0013-pipelined-assignment-and-client-qps.md).
 * Refusals and acceptances go straight into the caller's {@link IdentityQuarantine}, the one place that
 * holds the quarantine, so executions running side by side never keep copies that would need merging.
 */
export class PlanExecution {
  readonly writeFailures: WriteFailure[] = [];
  readonly lifecycleErrors: IllegalTransition[] = [];
  /** Latest stored version of every object written in this run (resourceVersions move on each write). */
  readonly #stored = new Map<string, AzureAssignedIdentity>();
  /** Objects whose create failed: their identities must not be attached (nothing would record them). */
  readonly #notCreated = new Set<string>();
  /** Creates started by {@link createAndConfirm}: each settles true once its object exists, false when its create failed. */
  readonly #creating = new Map<string, Promise<boolean>>();
  readonly #ports: ExecutorPorts;
  readonly #options: ExecutorOptions;
  readonly #quarantine: IdentityQuarantine;

  /** An execution on `ports` that records refused identities in `quarantine`. */
  constructor(ports: ExecutorPorts, options: ExecutorOptions, quarantine: IdentityQuarantine) {
    this.#ports = ports;
    this.#options = options;
    this.#quarantine = quarantine;
  }

  get #writeLimit(): number {
    return this.#options.writeConcurrency ?? 20;
  }

  /** Everything collected so far, with `targets` as given. */
  report(targets: readonly TargetOutcome[]): ExecutionReport {
    return { quarantine: this.#quarantine.state, targets, writeFailures: this.writeFailures, lifecycleErrors: this.lifecycleErrors };
  }

  /** Every object write of the plan: {@link writesBeforeCreates}, then {@link createAndConfirm}. */
  async objectWrites(plan: ReconcilePlan): Promise<void> {
    await this.writesBeforeCreates(plan);
    await this.createAndConfirm(plan);
  }

  /** Orphan and release deletions and in-place updates. */
  async writesBeforeCreates(plan: ReconcilePlan): Promise<void> {
    await forEachBounded(plan.orphans, this.#writeLimit, (aai) => this.#apply(aai, { type: "nodeGone" }));
    await forEachBounded(plan.releases, this.#writeLimit, (aai) =>
      this.#apply(aai, lifecycleStateOf(aai.status) === "Assigned" ? { type: "detachConfirmed" } : { type: "released" }),
    );
    await forEachBounded(plan.updates, this.#writeLimit, async (aai) => {
      const updated = await this.#ports.writer.update(aai);
      if (updated.ok) this.#stored.set(nameOf(aai), updated.value);
      else this.writeFailures.push({ object: nameOf(aai), operation: "update", error: updated.error });
    });
  }

  /**
   * Creates the plan's new objects (as `Created`) in {@link orderCreates}' order, so each VM/VMSS can start
   * its PATCH early, and confirms (marks `Assigned` without a PATCH) each confirmation once it exists — a
   * new object whose identity is already attached is both created and confirmed by one plan.
   * {@link target} may run meanwhile and waits for exactly the creates it needs.
   */
  async createAndConfirm(plan: ReconcilePlan): Promise<void> {
    const creating = this.#createAll(plan);
    await forEachBounded(plan.confirms, this.#writeLimit, async (aai) => {
      if (await this.#exists(aai)) await this.#apply(aai, { type: "attachConfirmed" });
    });
    await creating;
  }

  async #createAll(plan: ReconcilePlan): Promise<void> {
    const ordered = orderCreates(plan);
    const settle = new Map<string, (ok: boolean) => void>();
    for (const aai of ordered) this.#creating.set(nameOf(aai), new Promise<boolean>((resolve) => settle.set(nameOf(aai), resolve)));
    await forEachBounded(ordered, this.#writeLimit, async (aai) => {
      const name = nameOf(aai);
      let ok = false;
      try {
        const created = await this.#ports.writer.create(aai);
        ok = created.ok;
        if (created.ok) this.#stored.set(name, created.value);
        else {
          this.#notCreated.add(name);
          this.writeFailures.push({ object: name, operation: "create", error: created.error });
        }
      } finally {
        settle.get(name)?.(ok);
      }
    });
  }

  /** True once `aai` exists (waiting for its create when {@link createAndConfirm} is still on it). */
  async #exists(aai: AzureAssignedIdentity): Promise<boolean> {
    const name = nameOf(aai);
    const creating = this.#creating.get(name);
    return creating === undefined ? !this.#notCreated.has(name) : await creating;
  }

  /**
   * The identity keys a PATCH may attach: for each identity of `attaching`, the first object naming it
   * that exists (awaiting creates in order until one succeeded) — the crash-safe order needs one
   * `Created` object per identity before its PATCH, not every one.
   */
  async #attachable(attaching: readonly AzureAssignedIdentity[]): Promise<Set<string>> {
    const byKey = new Map<string, AzureAssignedIdentity[]>();
    for (const aai of attaching) {
      const key = managedIdentityKey(aai.spec.azureIdentityRef);
      if (key === undefined) continue;
      const objects = byKey.get(key);
      if (objects === undefined) byKey.set(key, [aai]);
      else objects.push(aai);
    }
    const add = new Set<string>();
    await Promise.all(
      [...byKey].map(async ([key, objects]) => {
        for (const aai of objects) {
          if (await this.#exists(aai)) {
            add.add(key);
            return;
          }
        }
      }),
    );
    return add;
  }

  /** One VM/VMSS: read, PATCH in ≤150-entry chunks leaving refused identities out, then the lifecycle writes. */
  async target(plan: TargetPlan): Promise<TargetOutcome> {
    const compute = this.#ports.compute;
    // Repairs go through the same events as first attaches: a failed one demotes its object to `Created`.
    const attaching = [...plan.attach, ...plan.repair];
    const add = await this.#attachable(attaching);
    const remove = new Set(plan.intent.remove);
    const quarantined: string[] = [];
    let refusal: string | undefined;
    let gets = 0;
    let patches = 0;
    let failure: ComputeError | undefined;

    gets++;
    const read = await compute.getIdentities(plan.target);
    let state: ComputeIdentityState | undefined = read.ok ? read.value : undefined;
    if (!read.ok) failure = read.error;

    const maxRetries = this.#options.maxRefusedIdentityRetries ?? 2;
    for (let attempt = 0; state !== undefined && failure === undefined && attempt <= maxRetries; attempt++) {
      const patchPlan = planIdentityPatches(state, { add: [...add], remove: [...remove] });
      if (patchPlan.blockedBy !== undefined) {
        failure = { kind: "conflict", message: `${plan.key} is being deleted; no identity change is sent` };
        break;
      }
      let refused: readonly string[] = [];
      for (const patch of patchPlan.patches) {
        patches++;
        const result = await compute.patchIdentities(plan.target, patch);
        if (result.ok) {
          state = result.value;
          continue;
        }
        if (result.error.kind === "forbiddenIdentities" || result.error.kind === "invalidIdentities") {
          refused = result.error.identityKeys.filter((key) => add.has(key));
          const reason = result.error.kind === "forbiddenIdentities" ? "forbidden" : "invalid";
          this.#quarantine.refuse(refused, reason, result.error.message, this.#options.now());
          quarantined.push(...refused);
          refusal = result.error.message;
          for (const key of refused) add.delete(key);
        }
        if (refused.length === 0) failure = result.error;
        break;
      }
      if (refused.length === 0) break;
      if (attempt === maxRetries) failure = { kind: "transient", message: `identities still refused after ${maxRetries} retries` };
    }

    if (failure !== undefined && state !== undefined) {
      // A failed PATCH may have half-landed (an LRO that failed late): read the truth back.
      gets++;
      const reread = await compute.getIdentities(plan.target);
      state = reread.ok ? reread.value : undefined;
    }

    const attachedNow = new Set(state?.userAssignedIdentityIds.map((id) => id.toLowerCase()) ?? []);
    // Whatever the VM/VMSS holds now is assignable: ARM accepted it (here or, for identities this plan did
    // not touch, earlier), so a quarantine on it would only hold back other targets needlessly.
    this.#quarantine.release([...attachedNow]);

    await forEachBounded(attaching, this.#writeLimit, async (aai) => {
      // An object still being created gets its status once it exists; one whose create failed gets none.
      if (!(await this.#exists(aai))) return;
      const key = managedIdentityKey(aai.spec.azureIdentityRef);
      const event: LifecycleEvent =
        state !== undefined && key !== undefined && attachedNow.has(key)
          ? { type: "attachConfirmed" }
          : { type: "attachFailed", quarantined: key !== undefined && quarantined.includes(key) };
      // The Event carries ARM's own words, so `podid explain` can show why an identity was quarantined.
      const detail = failure?.message ?? (event.type === "attachFailed" && event.quarantined ? `identity refused by ARM and quarantined: ${refusal ?? "no reason given"}` : undefined);
      return this.#apply(aai, event, detail);
    });
    await forEachBounded(plan.detach, this.#writeLimit, (aai) => {
      const key = managedIdentityKey(aai.spec.azureIdentityRef);
      const gone = state !== undefined && key !== undefined && !attachedNow.has(key);
      return this.#apply(aai, gone ? { type: "detachConfirmed" } : { type: "detachFailed" }, failure?.message);
    });

    if (failure !== undefined) {
      this.#ports.logger?.warn({ target: plan.key, error: failure.kind, message: failure.message }, "identity update failed");
    }
    return {
      key: plan.key,
      gets,
      patches,
      ...(failure === undefined ? {} : { error: failure }),
      quarantined,
      ...(state === undefined ? {} : { finalState: state }),
    };
  }

  /**
   * One federated identity (docs/adr/0021-federated-identities.md): ensures its credentials through `executor`
   * (serialised per identity there) and then settles each waiting object that exists — `Assigned` once a credential
   * trusts its subject; left `Created` with a Warning Event when the identity is at its cap of 20; left `Created`
   * with the usual apply-error Event when the credential calls failed. Never a VM/VMSS call.
   */
  async federated(plan: FederatedIdentityPlan, executor: FederatedCredentialExecutor): Promise<FederatedOutcome> {
    const sync = await executor.ensure(plan.key, plan.resourceId, plan.subjects);
    const trusted = new Set(sync.trusted);
    const refusedSubjects = new Set(sync.refused);
    let confirmed = 0;
    let refused = 0;
    await forEachBounded(plan.awaiting, this.#writeLimit, async ({ assignment, subject }) => {
      if (!(await this.#exists(assignment))) return;
      if (trusted.has(subject)) {
        confirmed++;
        return this.#apply(assignment, { type: "attachConfirmed" });
      }
      if (refusedSubjects.has(subject)) {
        refused++;
        this.#ports.events?.record(
          assignedIdentityObject(this.#stored.get(nameOf(assignment)) ?? assignment),
          "Warning",
          FEDERATED_EVENT.credentialLimit,
          `identity ${identityLabel(assignment)} (${plan.resourceId}) already holds the most federated identity credentials Azure allows (20) and none trusts ${subject}; no credential is written and the object stays Created`,
        );
        return;
      }
      if (sync.error !== undefined) {
        return this.#apply(assignment, { type: "attachFailed", quarantined: false }, `federated identity credential for ${subject}: ${sync.error.message}`);
      }
    });
    if (sync.error !== undefined) {
      this.#ports.logger?.warn({ identity: plan.resourceId, error: sync.error.kind, message: sync.error.message }, "federated identity credential update failed");
    }
    return { key: plan.key, sync, confirmed, refused };
  }

  /** Runs one lifecycle transition for `aai` and performs the writes and Events it asks for. */
  async #apply(aai: AzureAssignedIdentity, event: LifecycleEvent, detail?: string): Promise<void> {
    const name = nameOf(aai);
    const latest = this.#stored.get(name) ?? aai;
    const result = transition(lifecycleStateOf(latest.status), event);
    if (!result.ok) {
      this.lifecycleErrors.push(result.error);
      return;
    }
    let current = latest;
    for (const action of result.value.actions) {
      switch (action) {
        case "markCreated":
        case "markAssigned":
        case "markUnassigned": {
          const status = STATUS_OF[action];
          const written = await this.#ports.writer.setStatus(current, status);
          if (!written.ok) {
            this.writeFailures.push({ object: name, operation: "setStatus", error: written.error });
            return;
          }
          current = written.value;
          this.#stored.set(name, current);
          break;
        }
        case "deleteObject": {
          const deleted = await this.#ports.writer.delete(current);
          if (!deleted.ok) {
            this.writeFailures.push({ object: name, operation: "delete", error: deleted.error });
            return;
          }
          break;
        }
        case "eventApplied":
          this.#event(current, "Normal", BINDING_EVENT.applied, `identity ${identityLabel(current)} assigned to node ${current.spec.nodeName} for pod ${current.spec.podNamespace}/${current.spec.pod}`);
          break;
        case "eventApplyError":
          this.#event(current, "Warning", BINDING_EVENT.applyError, `identity ${identityLabel(current)} not assigned to node ${current.spec.nodeName}: ${detail ?? "unknown error"}`);
          break;
        case "eventRemoved":
          this.#event(current, "Normal", BINDING_EVENT.removed, `identity ${identityLabel(current)} removed from pod ${current.spec.podNamespace}/${current.spec.pod}`);
          break;
        case "eventRemoveError":
          this.#event(current, "Warning", BINDING_EVENT.removeError, `identity ${identityLabel(current)} not removed from node ${current.spec.nodeName}: ${detail ?? "unknown error"}`);
          break;
        case "createAsCreated":
        case "requestAttach":
        case "requestDetach":
          // Planned by `planReconcile`, not by the executor.
          break;
      }
    }
  }

  #event(aai: AzureAssignedIdentity, type: "Normal" | "Warning", reason: string, message: string): void {
    this.#ports.events?.record(bindingOf(aai), type, reason, message);
  }
}
