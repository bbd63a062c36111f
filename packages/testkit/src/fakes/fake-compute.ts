import {
  computeTargetId,
  computeTargetKey,
  err,
  identityKey,
  ok,
  type ClockPort,
  type ComputeError,
  type ComputeIdentityState,
  type ComputePort,
  type ComputeTarget,
  type IdentityPatch,
  type ResourceIdentityType,
  type Result,
} from "@podid/core";
import { fakeGuid } from "./fake-ids.js";

/** ARM's per-request cap on `userAssignedIdentities` entries (aad-pod-identity #813, PR #847). */
export const FAKE_ARM_IDENTITY_LIMIT = 150;

/** The identity block a VM or scale set starts with in {@link FakeCompute}. */
export interface ComputeInitialIdentity {
  /** Whether a system-assigned identity exists (default false). */
  readonly systemAssigned?: boolean;
  /** User-assigned identity ids already attached (any case; kept as written). */
  readonly userAssigned?: readonly string[];
  /** `provisioningState` (default `Succeeded`). */
  readonly provisioningState?: string;
}

/** Everything {@link FakeCompute} knows about one target's identities. */
export interface ComputeIdentitySnapshot {
  readonly target: ComputeTarget;
  /** The canonical target key (lower-case ARM id). */
  readonly key: string;
  readonly type: ResourceIdentityType;
  /** Attached user-assigned identities: canonical key → id as first attached. */
  readonly userAssigned: ReadonlyMap<string, string>;
  /** The canonical keys of {@link userAssigned}, sorted. */
  readonly userAssignedKeys: readonly string[];
  /** Principal id of the system-assigned identity, when there is one (a new one each time it is enabled). */
  readonly systemAssignedPrincipalId?: string;
  readonly provisioningState: string;
  readonly etag: string;
  /** When each attached identity was attached (clock time; 0 without a clock or for initial identities). */
  readonly attachedAtMs: ReadonlyMap<string, number>;
}

/** Operations recorded by {@link FakeCompute}. */
export type ComputeOp = "get" | "patch";

/** One call, as recorded in {@link FakeCompute.callLog}. */
export interface ComputeCallLogEntry {
  readonly seq: number;
  readonly op: ComputeOp;
  readonly targetKey: string;
  readonly patch?: IdentityPatch;
  readonly ifMatch?: string;
  /** Clock time the call arrived and finished (0 without a clock). */
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  /** `ok`, the error kind returned, or `malformed` for a request ARM would reject as invalid. */
  readonly outcome: "ok" | ComputeErrorKind;
}

/** Call counters of one target or of the whole fake. */
export interface ComputeCallCounts {
  readonly gets: number;
  readonly patches: number;
}

/** Aggregate counters of {@link FakeCompute}. */
export interface ComputeCounts extends ComputeCallCounts {
  /** Failed calls by error kind (`malformed` for invalid requests). */
  readonly errors: Readonly<Partial<Record<ComputeErrorKind, number>>>;
}

/** Error kinds counted by {@link FakeCompute}: every {@link ComputeError} kind, plus `malformed`. */
export type ComputeErrorKind = ComputeError["kind"] | "malformed";

/** A latency in virtual milliseconds, fixed or per target. */
export type LatencySpec = number | ((target: ComputeTarget) => number);

/** Options of {@link FakeCompute}. */
export interface FakeComputeOptions {
  /**
   * Clock for latencies and attach timestamps. Without it every call completes on the next microtask
   * and latencies are ignored. With a `VirtualClock`, drive it with `advanceAsync`.
   */
  readonly clock?: ClockPort;
  /** Latency of a GET (default 0). */
  readonly getLatencyMs?: LatencySpec;
  /**
   * Duration of a PATCH's long-running operation (default 0). ARM VMSS identity updates take tens of
   * seconds; `(t) => t.kind === "vmss" ? 40_000 : 10_000` is a realistic model.
   */
  readonly patchLatencyMs?: LatencySpec;
  /** When true, only one PATCH runs per target at a time (ARM's behaviour); see {@link busyPolicy}. */
  readonly oneOperationAtATimePerTarget?: boolean;
  /**
   * What a PATCH that arrives while another runs on the same target does when
   * {@link oneOperationAtATimePerTarget} is on: `queue` (default) waits its turn; `conflict` fails at
   * once with 409 like ARM's "another operation is in progress".
   */
  readonly busyPolicy?: "queue" | "conflict";
  /**
   * A PATCH ARM would reject as malformed (attaching with a type lacking `UserAssigned`, leaving a
   * `UserAssigned` type with no identity, ids that are not user-assigned identity ids): `throw` (default,
   * so podid bugs fail tests loudly) or `transient` (what the real adapter would report for an
   * id-less 400).
   */
  readonly malformedPatch?: "throw" | "transient";
  /**
   * Rewrites ids in responses, e.g. upper-casing the resource group as ARM sometimes does, to prove
   * callers compare ids case-insensitively. Default: ids as attached.
   */
  readonly reportedIdCase?: (id: string) => string;
}

/** A request ARM would reject with 400 InvalidParameter that podid must never send. */
export class MalformedPatchError extends Error {
  override readonly name = "MalformedPatchError";
}

interface TargetState {
  readonly target: ComputeTarget;
  readonly key: string;
  readonly users: Map<string, string>;
  readonly attachedAt: Map<string, number>;
  systemPrincipal: string | undefined;
  provisioningState: string;
  etag: string;
  running: number;
  gets: number;
  patches: number;
  peakConcurrentPatches: number;
}

interface Throttle {
  readonly targetKey: string | undefined;
  readonly retryAfterMs: number;
  remaining: number;
  readonly untilMs: number | undefined;
  readonly ops: readonly ComputeOp[];
}

interface QueuedFailure {
  readonly error: ComputeError;
  readonly ops: readonly ComputeOp[];
}

function identityType(hasSystem: boolean, userCount: number): ResourceIdentityType {
  if (hasSystem) return userCount > 0 ? "SystemAssigned, UserAssigned" : "SystemAssigned";
  return userCount > 0 ? "UserAssigned" : "None";
}

function latency(spec: LatencySpec | undefined, target: ComputeTarget): number {
  if (spec === undefined) return 0;
  return typeof spec === "number" ? spec : spec(target);
}

/**
 * An in-memory Azure Resource Manager for the identity blocks of VMs and VM scale sets, implementing
 * {@link ComputePort} with ARM's PATCH semantics:
 *
 * - `userAssignedIdentities` is merged: `{}` attaches, `null` detaches, ids compare case-insensitively
 *   and keep the casing they were first attached with. Detaching an id that is not attached is accepted
 *   and does nothing (ARM does the same, which is why the original could send stale removals safely).
 * - `type`: `None` removes every identity including the system-assigned one; `SystemAssigned` alone
 *   removes all user-assigned identities; `UserAssigned` removes the system-assigned identity;
 *   `SystemAssigned, UserAssigned` keeps (or creates) it. This is why MIC must never send `None` while a
 *   system identity should stay (pkg/cloudprovider `getUpdatedResourceIdentityType`).
 * - More than {@link FAKE_ARM_IDENTITY_LIMIT} map entries (attach and detach together) in one request
 *   fail with `tooManyIdentities` ("… exceed limit '150' in one request", #813).
 * - A request is atomic: if any attached identity is forbidden ({@link forbidIdentities}, ARM's 403
 *   LinkedAuthorizationFailed) or deleted ({@link deleteIdentities}, 400 FailedIdentityOperation),
 *   nothing is applied and the error lists exactly the offending canonical keys. Authorization is
 *   checked first, as ARM's front door does it before the compute provider sees the request.
 * - `If-Match` with a stale etag → `preconditionFailed`; `provisioningState` `Deleting` → `conflict`
 *   (the original refuses those PATCHes, PR #960); unknown target → `notFound`.
 *
 * Latency runs on an optional clock, and with `oneOperationAtATimePerTarget` a scale set serialises its
 * PATCHes like ARM does; while one runs, GETs report `provisioningState: "Updating"`. Faults
 * (throttling, conflicts, arbitrary errors), counters, peak concurrency and a call log support
 * benchmarks and ARM-budget assertions.
 */
export class FakeCompute implements ComputePort {
  readonly #targets = new Map<string, TargetState>();
  readonly #options: FakeComputeOptions;
  readonly #tails = new Map<string, Promise<void>>();
  readonly #forbidden = new Set<string>();
  readonly #deleted = new Set<string>();
  readonly #throttles: Throttle[] = [];
  readonly #failures = new Map<string | undefined, QueuedFailure[]>();
  readonly #conflicts = new Map<string, number>();
  readonly #log: ComputeCallLogEntry[] = [];
  readonly #errors: Partial<Record<ComputeErrorKind, number>> = {};
  #gets = 0;
  #patches = 0;
  #etagCounter = 0;
  #systemCounter = 0;
  #peakConcurrentPatches = 0;
  #running = 0;

  /** Creates an empty fake ARM. */
  constructor(options: FakeComputeOptions = {}) {
    this.#options = options;
  }

  // ── Set-up and inspection ─────────────────────────────────────────────────────────────────────

  /** Adds (or replaces) a standalone VM and returns its {@link ComputeTarget}. */
  addVm(ref: { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string }, initial: ComputeInitialIdentity = {}): ComputeTarget {
    return this.add({ kind: "vm", subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name: ref.name }, initial);
  }

  /** Adds (or replaces) a scale set and returns its {@link ComputeTarget}. */
  addVmss(ref: { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string }, initial: ComputeInitialIdentity = {}): ComputeTarget {
    return this.add({ kind: "vmss", subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name: ref.name }, initial);
  }

  /** Adds (or replaces) a target. Throws when an initial id is not a user-assigned identity id. */
  add(target: ComputeTarget, initial: ComputeInitialIdentity = {}): ComputeTarget {
    const key = computeTargetKey(target);
    const users = new Map<string, string>();
    const attachedAt = new Map<string, number>();
    for (const id of initial.userAssigned ?? []) {
      const idKey = identityKey(id);
      if (idKey === undefined) throw new Error(`FakeCompute.add: not a user-assigned identity id: ${id}`);
      if (!users.has(idKey)) {
        users.set(idKey, id);
        attachedAt.set(idKey, 0);
      }
    }
    this.#targets.set(key, {
      target,
      key,
      users,
      attachedAt,
      systemPrincipal: initial.systemAssigned === true ? this.#newPrincipal(key) : undefined,
      provisioningState: initial.provisioningState ?? "Succeeded",
      etag: this.#newEtag(),
      running: 0,
      gets: 0,
      patches: 0,
      peakConcurrentPatches: 0,
    });
    return target;
  }

  /** Removes a target (later calls get `notFound`); false when absent. */
  removeTarget(target: ComputeTarget): boolean {
    return this.#targets.delete(computeTargetKey(target));
  }

  /** The identity block of `target`, or `undefined` when the target does not exist. */
  identitiesOf(target: ComputeTarget): ComputeIdentitySnapshot | undefined {
    const state = this.#targets.get(computeTargetKey(target));
    if (state === undefined) return undefined;
    return {
      target: state.target,
      key: state.key,
      type: identityType(state.systemPrincipal !== undefined, state.users.size),
      userAssigned: new Map(state.users),
      userAssignedKeys: [...state.users.keys()].sort(),
      ...(state.systemPrincipal !== undefined ? { systemAssignedPrincipalId: state.systemPrincipal } : {}),
      provisioningState: state.provisioningState,
      etag: state.etag,
      attachedAtMs: new Map(state.attachedAt),
    };
  }

  /** Every target, as snapshots. */
  targets(): readonly ComputeIdentitySnapshot[] {
    return [...this.#targets.values()].flatMap((s) => {
      const snap = this.identitiesOf(s.target);
      return snap === undefined ? [] : [snap];
    });
  }

  /** Attaches an identity behind podid's back (someone ran `az vm identity assign`). */
  attachOutOfBand(target: ComputeTarget, id: string): void {
    const state = this.#require(target, "attachOutOfBand");
    const key = identityKey(id);
    if (key === undefined) throw new Error(`FakeCompute.attachOutOfBand: not a user-assigned identity id: ${id}`);
    if (!state.users.has(key)) {
      state.users.set(key, id);
      state.attachedAt.set(key, this.#now());
    }
    state.etag = this.#newEtag();
  }

  /** Detaches an identity behind podid's back (drift the original repairs every 3 min, #633/#639). */
  detachOutOfBand(target: ComputeTarget, id: string): void {
    const state = this.#require(target, "detachOutOfBand");
    const key = id.toLowerCase();
    state.users.delete(key);
    state.attachedAt.delete(key);
    state.etag = this.#newEtag();
  }

  /** Enables or disables the system-assigned identity out of band. */
  setSystemAssigned(target: ComputeTarget, enabled: boolean): void {
    const state = this.#require(target, "setSystemAssigned");
    if (enabled && state.systemPrincipal === undefined) state.systemPrincipal = this.#newPrincipal(state.key);
    if (!enabled) state.systemPrincipal = undefined;
    state.etag = this.#newEtag();
  }

  /** Sets `provisioningState` (e.g. `Deleting` to see PATCHes refused). */
  setProvisioningState(target: ComputeTarget, provisioningState: string): void {
    const state = this.#require(target, "setProvisioningState");
    state.provisioningState = provisioningState;
    state.etag = this.#newEtag();
  }

  // ── Fault injection ───────────────────────────────────────────────────────────────────────────

  /**
   * Throttles the next `count` calls (default 1) to `target`, or to every target with `"all"` (then the
   * error's scope is `subscription`). `ops` limits it to GETs or PATCHes (default both).
   */
  throttle(
    targetOrAll: ComputeTarget | "all",
    options: { readonly retryAfterMs: number; readonly count?: number; readonly ops?: readonly ComputeOp[] },
  ): void {
    this.#throttles.push({
      targetKey: targetOrAll === "all" ? undefined : computeTargetKey(targetOrAll),
      retryAfterMs: options.retryAfterMs,
      remaining: options.count ?? 1,
      untilMs: undefined,
      ops: options.ops ?? ["get", "patch"],
    });
  }

  /**
   * Throttles every call to `target` (or all targets) until clock time `untilMs`, answering with the
   * remaining time as `retryAfterMs`. A client that honours Retry-After makes one throttled call per
   * window; count them with `counts().errors.throttled`. Requires a clock.
   */
  throttleUntil(targetOrAll: ComputeTarget | "all", untilMs: number, ops: readonly ComputeOp[] = ["get", "patch"]): void {
    if (this.#options.clock === undefined) throw new Error("FakeCompute.throttleUntil needs a clock");
    this.#throttles.push({
      targetKey: targetOrAll === "all" ? undefined : computeTargetKey(targetOrAll),
      retryAfterMs: 0,
      remaining: Number.POSITIVE_INFINITY,
      untilMs,
      ops,
    });
  }

  /** Makes the next `n` PATCHes to `target` fail with 409 `conflict` (another operation in progress). */
  conflictNext(target: ComputeTarget, n = 1): void {
    const key = computeTargetKey(target);
    this.#conflicts.set(key, (this.#conflicts.get(key) ?? 0) + n);
  }

  /** Makes the next call to `target` (or to any target with `"all"`) fail with `error`. */
  failNext(targetOrAll: ComputeTarget | "all", error: ComputeError, ops: readonly ComputeOp[] = ["get", "patch"]): void {
    const key = targetOrAll === "all" ? undefined : computeTargetKey(targetOrAll);
    const queue = this.#failures.get(key) ?? [];
    queue.push({ error, ops });
    this.#failures.set(key, queue);
  }

  /** PATCHes attaching any of `ids` fail as a whole with 403 LinkedAuthorizationFailed. */
  forbidIdentities(ids: readonly string[]): void {
    for (const id of ids) this.#forbidden.add(id.toLowerCase());
  }

  /** Undoes {@link forbidIdentities}. */
  allowIdentities(ids: readonly string[]): void {
    for (const id of ids) this.#forbidden.delete(id.toLowerCase());
  }

  /** Marks identities as deleted: PATCHes attaching them fail as a whole with `invalidIdentities`. */
  deleteIdentities(ids: readonly string[]): void {
    for (const id of ids) this.#deleted.add(id.toLowerCase());
  }

  /** Undoes {@link deleteIdentities}. */
  restoreIdentities(ids: readonly string[]): void {
    for (const id of ids) this.#deleted.delete(id.toLowerCase());
  }

  // ── Counters and log ──────────────────────────────────────────────────────────────────────────

  /** Calls so far across all targets, with failures by kind. */
  counts(): ComputeCounts {
    return { gets: this.#gets, patches: this.#patches, errors: { ...this.#errors } };
  }

  /** Calls so far to one target (zeros for unknown targets). */
  countsFor(target: ComputeTarget): ComputeCallCounts {
    const state = this.#targets.get(computeTargetKey(target));
    return { gets: state?.gets ?? 0, patches: state?.patches ?? 0 };
  }

  /** The most PATCH operations that were running at once, on `target` or across all targets. */
  peakConcurrentPatches(target?: ComputeTarget): number {
    if (target === undefined) return this.#peakConcurrentPatches;
    return this.#targets.get(computeTargetKey(target))?.peakConcurrentPatches ?? 0;
  }

  /** Every call so far, in completion order. */
  get callLog(): readonly ComputeCallLogEntry[] {
    return this.#log;
  }

  /** Clears counters and the log (targets and faults stay). */
  resetCounters(): void {
    this.#gets = 0;
    this.#patches = 0;
    this.#peakConcurrentPatches = 0;
    this.#log.length = 0;
    for (const kind of Object.keys(this.#errors)) delete this.#errors[kind as ComputeErrorKind];
    for (const state of this.#targets.values()) {
      state.gets = 0;
      state.patches = 0;
      state.peakConcurrentPatches = 0;
    }
  }

  // ── ComputePort ───────────────────────────────────────────────────────────────────────────────

  /** Reads the identity block; `notFound` for unknown targets. */
  async getIdentities(target: ComputeTarget): Promise<Result<ComputeIdentityState, ComputeError>> {
    const key = computeTargetKey(target);
    const startedAtMs = this.#now();
    this.#gets++;
    const known = this.#targets.get(key);
    if (known !== undefined) known.gets++;
    const entry = { op: "get" as const, targetKey: key, startedAtMs };
    const arrival = this.#arrivalFault(key, "get");
    if (arrival !== undefined) return this.#finish(entry, err(arrival));
    await this.#delay(latency(this.#options.getLatencyMs, target));
    const state = this.#targets.get(key);
    if (state === undefined) return this.#finish(entry, err(notFoundError(target)));
    return this.#finish(entry, ok(this.#view(state)));
  }

  /** Applies one identity PATCH with ARM's semantics (see the class documentation). */
  async patchIdentities(target: ComputeTarget, patch: IdentityPatch, ifMatch?: string): Promise<Result<ComputeIdentityState, ComputeError>> {
    const key = computeTargetKey(target);
    const startedAtMs = this.#now();
    this.#patches++;
    const known = this.#targets.get(key);
    if (known !== undefined) known.patches++;
    const entry = { op: "patch" as const, targetKey: key, startedAtMs, patch, ...(ifMatch !== undefined ? { ifMatch } : {}) };

    const arrival = this.#arrivalFault(key, "patch") ?? this.#conflictFault(key, target);
    if (arrival !== undefined) return this.#finish(entry, err(arrival));

    const serialise = this.#options.oneOperationAtATimePerTarget === true;
    if (!serialise) return this.#runPatch(entry, target, key, patch, ifMatch);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await this.#runPatch(entry, target, key, patch, ifMatch);
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  async #runPatch(
    entry: Omit<ComputeCallLogEntry, "seq" | "finishedAtMs" | "outcome">,
    target: ComputeTarget,
    key: string,
    patch: IdentityPatch,
    ifMatch: string | undefined,
  ): Promise<Result<ComputeIdentityState, ComputeError>> {
    const state = this.#targets.get(key);
    if (state === undefined) return this.#finish(entry, err(notFoundError(target)));
    if (state.provisioningState.toLowerCase() === "deleting") {
      return this.#finish(entry, err({ kind: "conflict", message: `OperationNotAllowed: Operation 'PATCH' is not allowed on '${target.name}' since it is marked for deletion.` }));
    }
    if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== state.etag) {
      return this.#finish(entry, err({ kind: "preconditionFailed", message: "PreconditionFailed: The condition specified using HTTP conditional header(s) is not met." }));
    }

    const { type, userAssignedIdentities } = patch.identity;
    const entries = Object.entries(userAssignedIdentities ?? {});
    const problem = this.#malformed(state, type, entries);
    if (problem !== undefined) {
      if (this.#options.malformedPatch === "transient") {
        return this.#finish(entry, err({ kind: "transient", message: `InvalidParameter: ${problem}` }), "malformed");
      }
      this.#finish(entry, err({ kind: "transient", message: problem }), "malformed");
      throw new MalformedPatchError(`FakeCompute: ARM would reject this PATCH of ${key}: ${problem}`);
    }
    if (entries.length > FAKE_ARM_IDENTITY_LIMIT) {
      return this.#finish(entry, err({ kind: "tooManyIdentities", message: `User Assigned Identities Number '${entries.length}' Assign exceed limit '${FAKE_ARM_IDENTITY_LIMIT}' in one request` }));
    }
    const attaching = entries.filter(([, value]) => value !== null).map(([id]) => id);
    const forbidden = unique(attaching.filter((id) => this.#forbidden.has(id.toLowerCase())));
    if (forbidden.length > 0) {
      return this.#finish(entry, err({
        kind: "forbiddenIdentities",
        identityKeys: forbidden.map((id) => id.toLowerCase()),
        message:
          `LinkedAuthorizationFailed: The client 'podid-test' with object id '${fakeGuid("podid-test")}' has permission to perform action ` +
          `'Microsoft.Compute/${target.kind === "vm" ? "virtualMachines" : "virtualMachineScaleSets"}/write' on scope '${computeTargetId(target)}'; ` +
          `however, it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' ` +
          `on the linked scope(s) '${forbidden.join(",")}' or the linked scope(s) are invalid.`,
      }));
    }
    const missing = unique(attaching.filter((id) => this.#deleted.has(id.toLowerCase())));
    if (missing.length > 0) {
      return this.#finish(entry, err({
        kind: "invalidIdentities",
        identityKeys: missing.map((id) => id.toLowerCase()),
        message:
          `FailedIdentityOperation: Identity operation for resource '${computeTargetId(target)}' failed with error ` +
          `'Failed to perform resource identity operation. Status: 'NotFound'. The user-assigned identities '${missing.join(",")}' were not found.'`,
      }));
    }

    // Accepted: the long-running operation starts.
    state.running++;
    this.#running++;
    state.peakConcurrentPatches = Math.max(state.peakConcurrentPatches, state.running);
    this.#peakConcurrentPatches = Math.max(this.#peakConcurrentPatches, this.#running);
    if (state.provisioningState.toLowerCase() !== "deleting") state.provisioningState = "Updating";
    try {
      await this.#delay(latency(this.#options.patchLatencyMs, target));
    } finally {
      state.running--;
      this.#running--;
    }
    if (this.#targets.get(key) !== state) return this.#finish(entry, err(notFoundError(target)));
    const now = this.#now();
    if (type === "None" || type === "SystemAssigned") {
      state.users.clear();
      state.attachedAt.clear();
    } else {
      for (const [id, value] of entries) {
        const idKey = id.toLowerCase();
        if (value === null) {
          state.users.delete(idKey);
          state.attachedAt.delete(idKey);
        } else if (!state.users.has(idKey)) {
          state.users.set(idKey, id);
          state.attachedAt.set(idKey, now);
        }
      }
    }
    if (type === "None" || type === "UserAssigned") state.systemPrincipal = undefined;
    else if (state.systemPrincipal === undefined) state.systemPrincipal = this.#newPrincipal(key);
    if (state.running === 0 && state.provisioningState === "Updating") state.provisioningState = "Succeeded";
    state.etag = this.#newEtag();
    return this.#finish(entry, ok(this.#view(state)));
  }

  /** Why ARM would reject the request as malformed, or `undefined` when it is well-formed. */
  #malformed(
    state: TargetState,
    type: ResourceIdentityType,
    entries: ReadonlyArray<readonly [string, Record<string, never> | null]>,
  ): string | undefined {
    const badIds = entries.map(([id]) => id).filter((id) => identityKey(id) === undefined);
    if (badIds.length > 0) return `ResourceIdentity identityId '${badIds.join(",")}' is not a user-assigned identity id`;
    const withUsers = type === "UserAssigned" || type === "SystemAssigned, UserAssigned";
    if (!withUsers) {
      const attaches = entries.filter(([, v]) => v !== null).map(([id]) => id);
      if (attaches.length > 0) return `identity type '${type}' cannot carry user-assigned identities to attach (${attaches.join(",")})`;
      return undefined;
    }
    const remaining = new Set(state.users.keys());
    for (const [id, value] of entries) {
      if (value === null) remaining.delete(id.toLowerCase());
      else remaining.add(id.toLowerCase());
    }
    if (remaining.size === 0) {
      return `identity type '${type}' needs at least one user-assigned identity; send '${state.systemPrincipal !== undefined ? "SystemAssigned" : "None"}' without a map instead`;
    }
    return undefined;
  }

  #arrivalFault(key: string, op: ComputeOp): ComputeError | undefined {
    const now = this.#now();
    for (const throttle of this.#throttles) {
      if (throttle.targetKey !== undefined && throttle.targetKey !== key) continue;
      if (!throttle.ops.includes(op) || throttle.remaining <= 0) continue;
      const scope = throttle.targetKey === undefined ? "subscription" : "target";
      if (throttle.untilMs !== undefined) {
        if (now >= throttle.untilMs) continue;
        const retryAfterMs = throttle.untilMs - now;
        return { kind: "throttled", retryAfterMs, scope, message: `TooManyRequests: retry after ${Math.ceil(retryAfterMs / 1000)}s` };
      }
      throttle.remaining--;
      return { kind: "throttled", retryAfterMs: throttle.retryAfterMs, scope, message: `TooManyRequests: retry after ${Math.ceil(throttle.retryAfterMs / 1000)}s` };
    }
    for (const queueKey of [key, undefined]) {
      const queue = this.#failures.get(queueKey);
      const index = queue?.findIndex((f) => f.ops.includes(op)) ?? -1;
      if (queue !== undefined && index >= 0) {
        const [failure] = queue.splice(index, 1);
        if (failure !== undefined) return failure.error;
      }
    }
    return undefined;
  }

  #conflictFault(key: string, target: ComputeTarget): ComputeError | undefined {
    const pending = this.#conflicts.get(key) ?? 0;
    if (pending > 0) {
      this.#conflicts.set(key, pending - 1);
      return conflictError(target);
    }
    const state = this.#targets.get(key);
    const busy = state !== undefined && (state.running > 0 || this.#tails.has(key));
    if (this.#options.oneOperationAtATimePerTarget === true && this.#options.busyPolicy === "conflict" && busy) {
      return conflictError(target);
    }
    return undefined;
  }

  #finish<T>(
    entry: Omit<ComputeCallLogEntry, "seq" | "finishedAtMs" | "outcome">,
    result: Result<T, ComputeError>,
    outcomeOverride?: "malformed",
  ): Result<T, ComputeError> {
    const outcome = outcomeOverride ?? (result.ok ? "ok" : result.error.kind);
    if (outcome !== "ok") this.#errors[outcome] = (this.#errors[outcome] ?? 0) + 1;
    this.#log.push({ ...entry, seq: this.#log.length + 1, finishedAtMs: this.#now(), outcome });
    return result;
  }

  #view(state: TargetState): ComputeIdentityState {
    const rename = this.#options.reportedIdCase ?? ((id: string) => id);
    return {
      type: identityType(state.systemPrincipal !== undefined, state.users.size),
      userAssignedIdentityIds: [...state.users.values()].map(rename),
      provisioningState: state.provisioningState,
      etag: state.etag,
    };
  }

  #require(target: ComputeTarget, method: string): TargetState {
    const state = this.#targets.get(computeTargetKey(target));
    if (state === undefined) throw new Error(`FakeCompute.${method}: unknown target ${computeTargetKey(target)}`);
    return state;
  }

  async #delay(ms: number): Promise<void> {
    const clock = this.#options.clock;
    if (clock !== undefined && ms > 0) await clock.sleep(ms);
    else await Promise.resolve();
  }

  #now(): number {
    return this.#options.clock?.now() ?? 0;
  }

  #newEtag(): string {
    return `"${++this.#etagCounter}"`;
  }

  #newPrincipal(key: string): string {
    return fakeGuid(`system/${key}/${++this.#systemCounter}`);
  }
}

function unique(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = id.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function notFoundError(target: ComputeTarget): ComputeError {
  const type = target.kind === "vm" ? "virtualMachines" : "virtualMachineScaleSets";
  return {
    kind: "notFound",
    message: `ResourceNotFound: The Resource 'Microsoft.Compute/${type}/${target.name}' under resource group '${target.resourceGroup}' was not found.`,
  };
}

function conflictError(target: ComputeTarget): ComputeError {
  return {
    kind: "conflict",
    message: `OperationNotAllowed: Operation 'PATCH' is not allowed on '${target.name}' since another operation is in progress.`,
  };
}
