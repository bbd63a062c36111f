import {
  API_GROUP,
  API_VERSION,
  METRIC,
  METRIC_LABEL,
  PLURAL,
  describeValidationError,
  err,
  ok,
  parseAzureAssignedIdentity,
  type AssignedIdentityState,
  type AssignedIdentityWriterPort,
  type AzureAssignedIdentity,
  type KubeError,
  type LoggerPort,
  type MetricsPort,
  type Result,
} from "@podid/core";
import { callKube, type ThrottleRetryOptions } from "../client/kube-call.js";
import type { KubeClient } from "../client/kube-client.js";
import type { KubeHttpRequest } from "../client/kube-http.js";
import { silentLogger } from "../support/silent-logger.js";
import { createBody, reapplyUpdate, replaceBody, sameAssignment, withoutFinalizer } from "./assigned-identity-body.js";

/** `operation_type` label values of `aadpodidentity_kubernetes_api_operations_errors_count`, as the original's MIC. */
export const ASSIGNED_IDENTITY_OPERATION = {
  addition: "assigned_identity_addition",
  deletion: "assigned_identity_deletion",
  update: "assigned_identity_update",
  status: "update_azure_assigned_identity_status",
} as const;

/** Settings of a {@link KubeAssignedIdentityWriter}. */
export interface KubeAssignedIdentityWriterOptions {
  readonly client: KubeClient;
  readonly logger?: LoggerPort;
  readonly metrics?: MetricsPort;
  /** Attempts after a 409 before giving up with `conflict` (default 5). */
  readonly maxConflictRetries?: number;
  readonly throttle?: ThrottleRetryOptions;
}

type JsonObject = Record<string, unknown>;

/** Content type of a JSON merge patch (RFC 7386). */
const MERGE_PATCH = "application/merge-patch+json";
type Operation = (typeof ASSIGNED_IDENTITY_OPERATION)[keyof typeof ASSIGNED_IDENTITY_OPERATION];

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);
const isConflict = (e: KubeError): boolean => e.kind === "conflict";

/**
 * core's {@link AssignedIdentityWriterPort} over raw custom-resource requests, writing exactly what the original
 * MIC wrote (docs/compatibility.md#azureassignedidentity-objects):
 * - `create`: POST with MIC's finalizer and the status the object carries (`Created`);
 * - `setStatus`: a JSON merge patch `{"status":{"status":…}}` of the **main resource** — the original's
 *   CRD declares no status subresource and MIC patched `/status/status` on the object itself; a merge
 *   patch stores the same result and also works if `status` were missing;
 * - `update`: PUT of spec and labels guarded by resourceVersion;
 * - `delete`: DELETE, then a PUT without the finalizer while the object is still Terminating (the
 *   original's DELETE + finalizer PUT); a missing object counts as success.
 *
 * A 409 is retried with fresh state: the object is read again and the intended change re-applied to
 * what is stored, up to `maxConflictRetries` times. A create that meets its own earlier write (same
 * pod, node, identity and binding — an answer lost on the way back) succeeds with the stored object.
 * Every write waits for a slot of the client's write concurrency bound and for rate-limit tokens.
 * Errors are returned as core's {@link KubeError}, never thrown.
 */
export class KubeAssignedIdentityWriter implements AssignedIdentityWriterPort {
  readonly #client: KubeClient;
  readonly #logger: LoggerPort;
  readonly #metrics: MetricsPort | undefined;
  readonly #maxConflictRetries: number;
  readonly #throttle: ThrottleRetryOptions;

  /** Creates a writer on `options.client` (its rate limit and write concurrency bound apply). */
  constructor(options: KubeAssignedIdentityWriterOptions) {
    this.#client = options.client;
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = options.metrics;
    this.#maxConflictRetries = options.maxConflictRetries ?? 5;
    this.#throttle = options.throttle ?? {};
  }

  /** POSTs `identity` with MIC's finalizer; a 409 is resolved by reading what is stored (see the class comment). */
  create(identity: AzureAssignedIdentity): Promise<Result<AzureAssignedIdentity, KubeError>> {
    return this.#write(ASSIGNED_IDENTITY_OPERATION.addition, identity, async () => {
      const { namespace } = identity.metadata;
      const body = createBody(identity);
      let last: KubeError = { kind: "conflict", alreadyExists: false, message: "not attempted" };
      for (let attempt = 0; attempt <= this.#maxConflictRetries; attempt++) {
        const created = await this.#call({ method: "POST", path: this.#collection(namespace), body });
        if (created.ok) return this.#parse(created.value);
        if (!isConflict(created.error)) return created;
        last = created.error;
        const stored = await this.#read(namespace, identity.metadata.name);
        if (!stored.ok) {
          if (stored.error.kind === "notFound") continue; // the 409 was not about this object existing: post again
          return stored;
        }
        const parsed = this.#parse(stored.value);
        if (parsed.ok && parsed.value.metadata.deletionTimestamp === undefined && sameAssignment(parsed.value, identity)) return parsed;
        return err({ kind: "conflict", alreadyExists: true, message: `${identity.metadata.namespace}/${identity.metadata.name} already exists as a different assignment` });
      }
      return err(last);
    });
  }

  /** PUTs spec and labels: first with the caller's resourceVersion, after a 409 re-applied to a fresh read. */
  update(identity: AzureAssignedIdentity): Promise<Result<AzureAssignedIdentity, KubeError>> {
    return this.#write(ASSIGNED_IDENTITY_OPERATION.update, identity, async () => {
      const { namespace, name } = identity.metadata;
      // Optimistic first attempt with the caller's resourceVersion; without one, start from a read.
      let body: JsonObject | undefined = identity.metadata.resourceVersion === undefined ? undefined : (replaceBody(identity) as unknown as JsonObject);
      let last: KubeError = { kind: "conflict", alreadyExists: false, message: "not attempted" };
      for (let attempt = 0; attempt <= this.#maxConflictRetries; attempt++) {
        if (body === undefined) {
          const stored = await this.#read(namespace, name);
          if (!stored.ok) return stored;
          body = reapplyUpdate(identity, stored.value);
        }
        const replaced = await this.#call({ method: "PUT", path: this.#item(namespace, name), body });
        if (replaced.ok) return this.#parse(replaced.value);
        if (!isConflict(replaced.error)) return replaced;
        last = replaced.error;
        body = undefined;
      }
      return err(last);
    });
  }

  /** Merge-patches `status.status` on the main resource; `notFound` when the object is gone. */
  setStatus(identity: AzureAssignedIdentity, status: AssignedIdentityState): Promise<Result<AzureAssignedIdentity, KubeError>> {
    return this.#write(ASSIGNED_IDENTITY_OPERATION.status, identity, async () => {
      const { namespace, name } = identity.metadata;
      let last: KubeError = { kind: "conflict", alreadyExists: false, message: "not attempted" };
      for (let attempt = 0; attempt <= this.#maxConflictRetries; attempt++) {
        const patched = await this.#call({
          method: "PATCH",
          path: this.#item(namespace, name),
          body: { status: { status } },
          contentType: MERGE_PATCH,
        });
        if (patched.ok) return this.#parse(patched.value);
        if (!isConflict(patched.error)) return patched;
        last = patched.error;
        // The patch carries no precondition, so a 409 means the server could not apply it to the state it
        // held; make sure the object still exists, then apply the same change again.
        const stored = await this.#read(namespace, name);
        if (!stored.ok) return stored;
      }
      return err(last);
    });
  }

  /** DELETEs the object, then removes MIC's finalizer while it is Terminating; a missing object is success. */
  async delete(identity: AzureAssignedIdentity): Promise<Result<void, KubeError>> {
    const result = await this.#write(ASSIGNED_IDENTITY_OPERATION.deletion, identity, async () => {
      const { namespace, name } = identity.metadata;
      let deleted: Result<unknown, KubeError> = err({ kind: "conflict", alreadyExists: false, message: "not attempted" });
      for (let attempt = 0; attempt <= this.#maxConflictRetries; attempt++) {
        deleted = await this.#call({ method: "DELETE", path: this.#item(namespace, name) });
        if (deleted.ok || !isConflict(deleted.error)) break;
      }
      if (!deleted.ok) return deleted.error.kind === "notFound" ? ok(undefined) : deleted;
      return this.#removeFinalizer(namespace, name, deleted.value);
    });
    return result;
  }

  /** PUTs the object without MIC's finalizer until it is gone or no longer carries it. */
  async #removeFinalizer(namespace: string, name: string, afterDelete: unknown): Promise<Result<undefined, KubeError>> {
    // The DELETE answer is the object itself (Terminating when finalizers hold it); older servers answer
    // with a Status, in which case the object is read.
    let current: JsonObject | undefined = isObject(afterDelete) && afterDelete["kind"] !== "Status" && isObject(afterDelete["metadata"]) ? afterDelete : undefined;
    let last: KubeError = { kind: "conflict", alreadyExists: false, message: "not attempted" };
    for (let attempt = 0; attempt <= this.#maxConflictRetries; attempt++) {
      if (current === undefined) {
        const stored = await this.#read(namespace, name);
        if (!stored.ok) return stored.error.kind === "notFound" ? ok(undefined) : stored;
        current = stored.value;
      }
      const body = withoutFinalizer(current);
      if (body === undefined) return ok(undefined);
      const replaced = await this.#call({ method: "PUT", path: this.#item(namespace, name), body });
      if (replaced.ok) return ok(undefined);
      if (replaced.error.kind === "notFound") return ok(undefined);
      if (!isConflict(replaced.error)) return replaced;
      last = replaced.error;
      current = undefined;
    }
    return err(last);
  }

  #collection(namespace: string): string {
    return `/apis/${API_GROUP}/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL.AzureAssignedIdentity}`;
  }

  #item(namespace: string, name: string): string {
    return `${this.#collection(namespace)}/${encodeURIComponent(name)}`;
  }

  #call(request: KubeHttpRequest): Promise<Result<unknown, KubeError>> {
    return callKube(this.#client.clock, () => this.#client.request(request), this.#throttle);
  }

  async #read(namespace: string, name: string): Promise<Result<JsonObject, KubeError>> {
    const read = await this.#call({ method: "GET", path: this.#item(namespace, name) });
    if (!read.ok) return read;
    return isObject(read.value) ? ok(read.value) : err({ kind: "invalid", message: "the API server returned a non-object" });
  }

  #parse(raw: unknown): Result<AzureAssignedIdentity, KubeError> {
    const parsed = parseAzureAssignedIdentity(raw);
    return parsed.ok ? parsed : err({ kind: "invalid", message: `stored object does not parse: ${describeValidationError(parsed.error)}` });
  }

  /** Runs one port operation inside the write concurrency bound, with the original's metrics and an error log. */
  async #write<T>(operation: Operation, identity: AzureAssignedIdentity, run: () => Promise<Result<T, KubeError>>): Promise<Result<T, KubeError>> {
    const startMs = this.#client.clock.now();
    const result = await this.#client.writeLimiter.run(run);
    const seconds = (this.#client.clock.now() - startMs) / 1000;
    if (result.ok) {
      const metric = OPERATION_METRICS[operation];
      if (metric !== undefined) {
        this.#metrics?.observe(metric.duration, {}, seconds);
        this.#metrics?.increment(metric.count);
      }
    } else {
      this.#metrics?.increment(METRIC.kubernetesApiOperationsErrorsCount, { [METRIC_LABEL.operationType]: operation });
      this.#logger.error(
        { operation, namespace: identity.metadata.namespace, name: identity.metadata.name, error: result.error.kind, message: result.error.message },
        "AzureAssignedIdentity write failed",
      );
    }
    return result;
  }
}

/** Success metrics per operation; the status patch had none in the original. */
const OPERATION_METRICS: Partial<Record<Operation, { readonly duration: string; readonly count: string }>> = {
  [ASSIGNED_IDENTITY_OPERATION.addition]: { duration: METRIC.assignedIdentityAdditionDuration, count: METRIC.assignedIdentityAdditionCount },
  [ASSIGNED_IDENTITY_OPERATION.update]: { duration: METRIC.assignedIdentityUpdateDuration, count: METRIC.assignedIdentityUpdateCount },
  [ASSIGNED_IDENTITY_OPERATION.deletion]: { duration: METRIC.assignedIdentityDeletionDuration, count: METRIC.assignedIdentityDeletionCount },
};
