import { planIdentityCredentials } from "../federated/credential-plan.js";
import type { ClockPort } from "../ports/clock.port.js";
import type { FederatedCredential, FederatedCredentialError, FederatedCredentialPort } from "../ports/federated-credential.port.js";
import type { Result } from "../result.js";

/** Tuning of a {@link FederatedCredentialExecutor}. */
export interface FederatedCredentialOptions {
  /** The cluster's service-account issuer: every credential podid writes trusts it, and only its own are deleted. */
  readonly issuer: string;
  /** Attempts per call (list, create or delete) before giving up for this run (default 6). */
  readonly maxAttempts?: number;
  /** First back-off after a 409 (doubles per attempt, default 1 s); a 429 waits its Retry-After instead when longer. */
  readonly initialBackoffMs?: number;
  /** Longest back-off (default 30 s). */
  readonly maxBackoffMs?: number;
  /** Told about every write sent (for metrics): its kind and whether it succeeded. */
  readonly onWrite?: (operation: "create" | "delete", outcome: "success" | FederatedCredentialError["kind"]) => void;
}

/** What one run for one identity achieved. */
export interface CredentialSyncOutcome {
  /** Canonical identity key the run was for. */
  readonly key: string;
  /** Needed subjects a credential of this issuer trusts now (created or found). */
  readonly trusted: readonly string[];
  /** Needed subjects refused because the identity holds the most credentials Entra ID allows. */
  readonly refused: readonly string[];
  readonly created: readonly FederatedCredential[];
  readonly deleted: readonly FederatedCredential[];
  /** Write calls sent (retries included). */
  readonly writes: number;
  /** The failure that stopped the run early, if any (`trusted` and `refused` then cover only what was settled). */
  readonly error?: FederatedCredentialError;
}

/** Worth another attempt after a back-off: overlapping writes (409), throttling (429), other transient failures. */
const isRetryable = (error: FederatedCredentialError): boolean =>
  error.kind === "conflict" || error.kind === "throttled" || (error.kind === "failed" && (error.status === undefined || error.status >= 500));

/**
 * Keeps the federated identity credentials of type-3 identities (docs/adr/0021-federated-identities.md). Writes
 * under one identity are strictly serialised — one run per identity key at a time, and inside a run one call at a
 * time — because Entra ID answers 409 to overlapping writes on one identity and throttles creates per identity.
 * Each run lists first, so a credential that already trusts the issuer and subject (whoever made it) is reused,
 * deletes podid's own credentials nobody needs (freeing room), then creates the missing ones up to the cap of 20.
 * 409 and 429 (and 5xx) are retried with back-off, a 429 waiting at least its Retry-After. Nothing here throws.
 */
export class FederatedCredentialExecutor {
  readonly #port: FederatedCredentialPort;
  readonly #clock: ClockPort;
  readonly #options: FederatedCredentialOptions;
  /** The last run started for each identity key: the next one starts only once it has settled. */
  readonly #tails = new Map<string, Promise<unknown>>();

  /** An executor writing through `port`, backing off on `clock`. */
  constructor(port: FederatedCredentialPort, clock: ClockPort, options: FederatedCredentialOptions) {
    this.#port = port;
    this.#clock = clock;
    this.#options = options;
  }

  /** The issuer every credential written trusts. */
  get issuer(): string {
    return this.#options.issuer;
  }

  /**
   * Ensures the credentials `neededSubjects` need on the identity `resourceId` (canonical key `key`) and removes
   * podid's own unneeded ones, after every earlier run for the same key has settled.
   */
  ensure(key: string, resourceId: string, neededSubjects: readonly string[]): Promise<CredentialSyncOutcome> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.#run(key, resourceId, neededSubjects));
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }

  async #run(key: string, resourceId: string, neededSubjects: readonly string[]): Promise<CredentialSyncOutcome> {
    let writes = 0;
    const created: FederatedCredential[] = [];
    const deleted: FederatedCredential[] = [];
    const settle = (trusted: readonly string[], refused: readonly string[], error?: FederatedCredentialError): CredentialSyncOutcome => ({
      key,
      trusted: [...new Set(trusted)].sort(),
      refused,
      created,
      deleted,
      writes,
      ...(error === undefined ? {} : { error }),
    });

    const listed = await this.#withRetries(() => this.#port.list(resourceId));
    if (!listed.ok) return settle([], [], listed.error);
    const plan = planIdentityCredentials({ issuer: this.#options.issuer, neededSubjects, existing: listed.value });
    const trusted = plan.reused.map((r) => r.subject);
    const refused = [...plan.refused];

    for (const credential of plan.deletes) {
      const result = await this.#withRetries(() => {
        writes++;
        return this.#port.delete(resourceId, credential.name);
      }, "delete");
      // Already gone is what a delete wants.
      if (result.ok || result.error.kind === "notFound") deleted.push(credential);
      else return settle(trusted, refused, result.error);
    }
    for (const [index, credential] of plan.creates.entries()) {
      const result = await this.#withRetries(() => {
        writes++;
        return this.#port.create(resourceId, credential);
      }, "create");
      if (result.ok) {
        created.push(result.value);
        trusted.push(credential.subject);
        continue;
      }
      if (result.error.kind === "limit") {
        // Someone else filled the identity since the list: everything not yet created is refused.
        refused.push(...plan.creates.slice(index).map((c) => c.subject));
        break;
      }
      return settle(trusted, refused, result.error);
    }
    return settle(trusted, refused);
  }

  /** Calls `attempt` until it succeeds, fails for good, or the attempts run out; backs off between attempts. */
  async #withRetries<T>(
    attempt: () => Promise<Result<T, FederatedCredentialError>>,
    write?: "create" | "delete",
  ): Promise<Result<T, FederatedCredentialError>> {
    const maxAttempts = Math.max(1, this.#options.maxAttempts ?? 6);
    let backoff = this.#options.initialBackoffMs ?? 1_000;
    const maxBackoff = this.#options.maxBackoffMs ?? 30_000;
    for (let n = 1; ; n++) {
      const result = await attempt();
      if (write !== undefined) this.#options.onWrite?.(write, result.ok ? "success" : result.error.kind);
      if (result.ok || !isRetryable(result.error) || n >= maxAttempts) return result;
      // Retry-After is honoured even beyond the longest back-off: sending earlier only earns another 429.
      await this.#clock.sleep(result.error.kind === "throttled" ? Math.max(result.error.retryAfterMs, backoff) : backoff);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}
