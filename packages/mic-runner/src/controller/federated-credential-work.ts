import {
  assignedIdentityObject,
  FEDERATED_EVENT,
  FederatedCredentialExecutor,
  METRIC_LABEL,
  podObject,
  type ClockPort,
  type EventRecorderPort,
  type FederatedCredentialPort,
  type FederatedIdentityPlan,
  type LoggerPort,
  type MetricsPort,
  type PlanExecution,
  type ReconcilePlan,
} from "@podid/core";
import { MIC_COUNTER } from "../observability/mic-metrics.js";
import { fenceCredentials } from "./leader-fencing.js";
import { TargetWorkQueue } from "./target-work-queue.js";

/** What {@link FederatedCredentialWork} talks to. */
export interface FederatedCredentialWorkPorts {
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  readonly events?: EventRecorderPort;
  readonly metrics?: MetricsPort;
  /** Leadership; every write is fenced by it. */
  readonly isLeader: () => boolean;
  /**
   * Federated identity credentials of type-3 identities (docs/adr/0021-federated-identities.md). Absent: no
   * credential is written (objects of type-3 identities stay Created, with an Event saying why).
   */
  readonly credentials?: FederatedCredentialPort;
  /**
   * The cluster's service-account issuer (`--service-account-issuer`, else the API server's OIDC discovery). Asked
   * when a type-3 identity first needs a credential and until it answers; `undefined` means unknown for now.
   */
  readonly serviceAccountIssuer?: () => Promise<string | undefined>;
}

/** Tuning of {@link FederatedCredentialWork}. */
export interface FederatedCredentialWorkOptions {
  /** Identities worked on at the same time. */
  readonly concurrency: number;
  /** An identity whose needs did not change is checked again after this long (`--syncRetryDuration`). */
  readonly resyncIntervalMs: number;
  /** Backoff of an identity after a failed run, doubling from `initialMs` to `maxMs`. */
  readonly failureBackoff: { readonly initialMs: number; readonly maxMs: number };
}

/** One federated identity's share of a planning pass. */
interface CredentialRun {
  readonly execution: PlanExecution;
  readonly plan: FederatedIdentityPlan;
}

/** What the last successful run of an identity settled: nothing is sent again while it still holds. */
interface Settled {
  readonly subjects: string;
  readonly refused: ReadonlySet<string>;
  readonly atMs: number;
}

/** An identity whose last run failed: planned again (even once no object needs it) after its backoff. */
interface Failed {
  readonly resourceId: string;
  readonly failures: number;
  readonly retryAtMs: number;
}

/**
 * MIC's federated-credential side (docs/adr/0021-federated-identities.md): after each planning pass it queues one
 * run per type-3 identity whose needs changed — one run per identity at a time, and core's
 * `FederatedCredentialExecutor` keeps every write under one identity strictly one at a time — so a pass never
 * waits for Entra ID's slow, throttled credential writes. Identities whose run failed back off and are retried,
 * including clean-ups no object asks for any more. It also records the Warning Events of federated pairs: pods
 * the identity does not trust, and objects that wait because the issuer is unknown.
 */
export class FederatedCredentialWork {
  readonly #ports: FederatedCredentialWorkPorts;
  readonly #options: FederatedCredentialWorkOptions;
  /** Asks the controller for a planning pass at `atMs` (default: after the batch window). */
  readonly #wake: (atMs?: number) => void;
  readonly #runs: TargetWorkQueue<CredentialRun>;
  #executor: FederatedCredentialExecutor | undefined;
  #issuerLookup: Promise<string | undefined> | undefined;
  readonly #settled = new Map<string, Settled>();
  readonly #failed = new Map<string, Failed>();
  /** Warning Events already recorded, so each is recorded once while its cause lasts. */
  readonly #reported = new Set<string>();

  /** Work on `ports`; `wake` asks the controller for another planning pass. */
  constructor(ports: FederatedCredentialWorkPorts, options: FederatedCredentialWorkOptions, wake: (atMs?: number) => void) {
    this.#ports = ports;
    this.#options = options;
    this.#wake = wake;
    this.#runs = new TargetWorkQueue(ports.clock, {
      concurrency: options.concurrency,
      run: (key, run) => this.#run(key, run),
      onError: (error, key) => ports.logger.error({ err: error, key }, "federated credential work failed"),
    });
  }

  /** Identity runs waiting or running. */
  get size(): number {
    return this.#runs.size;
  }

  /** Identity runs in progress. */
  get running(): number {
    return this.#runs.running;
  }

  /** Resolves when no run is in progress. */
  whenIdle(): Promise<void> {
    return this.#runs.whenIdle();
  }

  /** Starts nothing new (runs in progress finish; their writes stay fenced). */
  stop(): void {
    this.#runs.stop();
  }

  /**
   * A Warning Event on each pod a binding selects for a type-3 identity that does not trust its service account
   * (no object is written for it), once while the pair lasts.
   */
  reportUntrusted(plan: ReconcilePlan): void {
    const current = new Set<string>();
    for (const pair of plan.untrusted) {
      const identity = `${pair.identity.metadata.namespace}/${pair.identity.metadata.name}`;
      const key = `untrusted:${pair.pod.metadata.uid ?? ""}:${pair.pod.metadata.namespace}/${pair.pod.metadata.name}:${identity}`;
      current.add(key);
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      this.#ports.events?.record(
        podObject(pair.pod),
        "Warning",
        FEDERATED_EVENT.serviceAccountNotTrusted,
        `federated identity ${identity} does not trust service account ${pair.pod.metadata.namespace}/${pair.pod.serviceAccountName || "default"} (binding ${pair.binding.metadata.namespace}/${pair.binding.metadata.name}): it trusts only service accounts ${pair.identity.spec.serviceAccounts.join(", ")} in namespace ${pair.identity.metadata.namespace}; no AzureAssignedIdentity is created`,
      );
    }
    for (const key of this.#reported) if (key.startsWith("untrusted:") && !current.has(key)) this.#reported.delete(key);
  }

  /**
   * Queues the run of each federated identity of `plan` (and of each failed one whose backoff ended) whose needs
   * changed since its last run, that has objects waiting for a credential not known to be refused, or whose last run
   * is a resync interval old. Without an issuer nothing is written: each waiting object gets one Warning Event
   * saying why. Returns how many runs were queued.
   */
  async dispatch(plan: ReconcilePlan, execution: PlanExecution): Promise<number> {
    if (plan.federated.length === 0 && this.#failed.size === 0) return 0;
    const executor = await this.#executorOnce();
    const now = this.#ports.clock.now();
    if (executor === undefined) {
      this.#reportNoIssuer(plan);
      this.#wake(now + this.#options.failureBackoff.initialMs);
      return 0;
    }
    const planned = new Set(plan.federated.map((entry) => entry.key));
    const cleanUps = [...this.#failed]
      .filter(([key]) => !planned.has(key))
      .map(([key, failed]): FederatedIdentityPlan => ({ key, resourceId: failed.resourceId, subjects: [], awaiting: [] }));
    let queued = 0;
    for (const entry of [...plan.federated, ...cleanUps]) {
      const failed = this.#failed.get(entry.key);
      if (failed !== undefined && failed.retryAtMs > now) {
        this.#wake(failed.retryAtMs);
        continue;
      }
      const settled = this.#settled.get(entry.key);
      const stale =
        settled === undefined ||
        settled.subjects !== entry.subjects.join("\n") ||
        now - settled.atMs >= this.#options.resyncIntervalMs ||
        entry.awaiting.some((waiting) => !settled.refused.has(waiting.subject));
      // A running identity is planned again when its run ends.
      if (!stale || this.#runs.isRunning(entry.key)) continue;
      this.#runs.mark(entry.key, undefined, { execution, plan: entry });
      queued++;
    }
    return queued;
  }

  #reportNoIssuer(plan: ReconcilePlan): void {
    const why =
      this.#ports.credentials === undefined
        ? "MIC has no access to federated identity credentials"
        : "MIC does not know the cluster's service-account issuer (set --service-account-issuer, or let MIC read the API server's /.well-known/openid-configuration)";
    for (const { assignment } of plan.federated.flatMap((entry) => entry.awaiting)) {
      const key = `issuer:${assignment.metadata.namespace}/${assignment.metadata.name}`;
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      this.#ports.events?.record(assignedIdentityObject(assignment), "Warning", FEDERATED_EVENT.issuerUnknown, `${why}: no federated identity credential is written and the object stays Created`);
    }
  }

  /** The executor, created when the issuer first becomes known; `undefined` while it is not. */
  async #executorOnce(): Promise<FederatedCredentialExecutor | undefined> {
    if (this.#executor !== undefined) return this.#executor;
    const { credentials, serviceAccountIssuer, metrics, logger, clock, isLeader } = this.#ports;
    if (credentials === undefined || serviceAccountIssuer === undefined) return undefined;
    this.#issuerLookup ??= serviceAccountIssuer().catch((error: unknown) => {
      logger.warn({ err: error }, "service-account issuer lookup failed");
      return undefined;
    });
    const issuer = await this.#issuerLookup;
    this.#issuerLookup = undefined;
    if (issuer === undefined || issuer === "") return undefined;
    logger.info({ issuer }, "federated identity credentials trust this service-account issuer");
    this.#executor = new FederatedCredentialExecutor(fenceCredentials(credentials, isLeader), clock, {
      issuer,
      onWrite: (operation) => metrics?.increment(MIC_COUNTER.federatedCredentialWrites, { [METRIC_LABEL.operationType]: `fic_${operation}` }),
    });
    return this.#executor;
  }

  async #run(key: string, run: CredentialRun | undefined): Promise<void> {
    const executor = this.#executor;
    if (run === undefined || executor === undefined) return;
    const { clock, logger } = this.#ports;
    let ok = false;
    try {
      const outcome = await run.execution.federated(run.plan, executor);
      ok = outcome.sync.error === undefined;
      if (ok) this.#settled.set(key, { subjects: run.plan.subjects.join("\n"), refused: new Set(outcome.sync.refused), atMs: clock.now() });
    } catch (error) {
      logger.error({ err: error, identity: run.plan.resourceId }, "federated credential work failed");
    }
    if (ok) {
      this.#failed.delete(key);
      this.#wake();
      return;
    }
    this.#settled.delete(key);
    const failures = (this.#failed.get(key)?.failures ?? 0) + 1;
    const { initialMs, maxMs } = this.#options.failureBackoff;
    const retryAtMs = clock.now() + Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 20));
    this.#failed.set(key, { resourceId: run.plan.resourceId, failures, retryAtMs });
    this.#wake(retryAtMs);
  }
}
