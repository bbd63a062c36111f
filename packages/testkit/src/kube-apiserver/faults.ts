/**
 * Fault injection for the fake kube-apiserver: request latency and failing the next N writes with a
 * conflict, an internal error or throttling — the failures a controller must survive on a real cluster.
 * @packageDocumentation
 */
import { ApiError, internalError, tooManyRequests } from "./status.js";
import { storageKeyOf, type ResourceDefinition } from "./resource-definition.js";

/** Status codes {@link FaultInjector.failNextWrites} can inject. */
export type InjectedWriteStatus = 409 | 500 | 429;

/** Options of an injected write failure. */
export interface FailWritesOptions {
  /** For 429: the `Retry-After` seconds (default 1). */
  readonly retryAfterSeconds?: number;
  /**
   * Only writes to this resource fail: a plural (`pods`), a `plural.group`
   * (`azureassignedidentities.aadpodidentity.k8s.io`) or a kind (`AzureAssignedIdentity`). Default: any.
   */
  readonly resource?: string;
}

interface PendingFailure {
  remaining: number;
  readonly status: InjectedWriteStatus;
  readonly options: FailWritesOptions;
}

function matches(def: ResourceDefinition, resource: string | undefined): boolean {
  if (resource === undefined) return true;
  return resource === def.plural || resource === storageKeyOf(def) || resource === def.kind;
}

function errorFor(def: ResourceDefinition, name: string | undefined, failure: PendingFailure): ApiError {
  switch (failure.status) {
    case 409:
      return new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${storageKeyOf(def)} "${name ?? ""}": the object has been modified; please apply your changes to the latest version and try again (injected)`, {
        ...(name !== undefined ? { name } : {}),
        ...(def.group !== "" ? { group: def.group } : {}),
        kind: def.plural,
      });
    case 429:
      return tooManyRequests(failure.options.retryAfterSeconds ?? 1);
    case 500:
      return internalError("injected failure");
  }
}

/** The fault state of one server. */
export class FaultInjector {
  #delayMs: number | undefined;
  readonly #failures: PendingFailure[] = [];

  /** Current extra latency per request, if any. */
  get delayMs(): number | undefined {
    return this.#delayMs;
  }

  /** Sets (or clears, with `undefined`) a latency added before every request is handled. */
  delay(ms: number | undefined): void {
    this.#delayMs = ms === undefined || ms <= 0 ? undefined : ms;
  }

  /** Makes the next `count` matching writes fail with `status`; queued behind earlier injections. */
  failNextWrites(count: number, status: InjectedWriteStatus, options: FailWritesOptions = {}): void {
    if (count > 0) this.#failures.push({ remaining: count, status, options });
  }

  /** Writes still due to fail (all injections). */
  get pendingWriteFailures(): number {
    return this.#failures.reduce((sum, f) => sum + f.remaining, 0);
  }

  /** Consumes one injected failure for a write to `def`, returning the error to answer with. */
  takeWriteFailure(def: ResourceDefinition, name: string | undefined): ApiError | undefined {
    const index = this.#failures.findIndex((f) => matches(def, f.options.resource));
    const failure = this.#failures[index];
    if (failure === undefined) return undefined;
    failure.remaining -= 1;
    if (failure.remaining <= 0) this.#failures.splice(index, 1);
    return errorFor(def, name, failure);
  }

  /** Clears latency and pending failures. */
  reset(): void {
    this.#delayMs = undefined;
    this.#failures.length = 0;
  }
}
