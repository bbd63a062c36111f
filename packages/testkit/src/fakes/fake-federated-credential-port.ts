import {
  err,
  identityKey,
  ok,
  type ClockPort,
  type FederatedCredential,
  type FederatedCredentialError,
  type FederatedCredentialPort,
  type Result,
} from "@podid/core";
import type { FakeFederatedCredential, FakeFederatedCredentialError, FakeFederatedCredentials } from "./fake-federated-credentials.js";

/** A call of {@link FakeFederatedCredentialPort}, as {@link FakeFederatedCredentialPort.calls} records it on arrival. */
export interface FakeFederatedCredentialPortCall {
  readonly op: "list" | "create" | "delete";
  readonly identityResourceId: string;
  /** The credential written (creates and deletes). */
  readonly name?: string;
  /** Clock time the call arrived. */
  readonly atMs: number;
}

/** Options of {@link FakeFederatedCredentialPort}. */
export interface FakeFederatedCredentialPortOptions {
  /** Time for {@link latencyMs} and call times (default real time); usually the clock the store runs on. */
  readonly clock?: Pick<ClockPort, "now" | "sleep">;
  /**
   * How long every call travels before the store (or a scripted failure) answers it (default 0). The store's
   * own `writeLatencyMs`, during which it answers 409 to an overlapping write, comes on top for writes.
   */
  readonly latencyMs?: number;
}

/** Write concurrency seen by {@link FakeFederatedCredentialPort} (writes count from call to answer). */
export interface FakeFederatedCredentialPortCounts {
  /** Writes in flight now, all identities together. */
  readonly inFlight: number;
  /** The most writes in flight at once, all identities together. */
  readonly peakInFlight: number;
  /** The most writes in flight at once under one identity (1 = the caller serialises per identity, as Entra ID needs). */
  readonly peakInFlightPerIdentity: number;
  /** {@link peakInFlightPerIdentity} per identity, keyed by canonical identity key. */
  readonly peakInFlightByIdentity: Readonly<Record<string, number>>;
  /** `conflict` answers of the store (Entra ID's 409 for overlapping writes); scripted failures are not counted. */
  readonly conflicts: number;
}

type Op = FakeFederatedCredentialPortCall["op"];

interface ScriptedFailure {
  readonly error: FederatedCredentialError;
  readonly ops: readonly Op[];
  remaining: number;
}

/**
 * Core's {@link FederatedCredentialPort} over a {@link FakeFederatedCredentials} (usually
 * `catalog.federatedCredentials`), for testing MIC's federated-credential executor in memory with Entra ID's
 * rules: overlapping writes under one identity → `conflict`, throttled creates → `throttled`, the 21st
 * credential → `limit`, unknown identity or credential → `notFound`, other refusals (names, properties,
 * duplicate issuer+subject) → `failed` with status 400. The same store serves `FakeArmServer`, so in-memory
 * and over-HTTP tests see the same credentials and write log. On top: a per-call latency on an injected
 * clock, scripted failures ({@link failNext}), a call log ({@link calls}) and write concurrency ({@link counts}).
 */
export class FakeFederatedCredentialPort implements FederatedCredentialPort {
  readonly #store: FakeFederatedCredentials;
  readonly #clock: Pick<ClockPort, "now" | "sleep"> | undefined;
  readonly #latencyMs: number;
  readonly #calls: FakeFederatedCredentialPortCall[] = [];
  readonly #failures: ScriptedFailure[] = [];
  readonly #inFlightByIdentity = new Map<string, number>();
  readonly #peakByIdentity = new Map<string, number>();
  #inFlight = 0;
  #peakInFlight = 0;
  #conflicts = 0;

  /**
   * @param store usually `catalog.federatedCredentials`, so the fake ARM and AAD see the same credentials.
   * Throws a RangeError when `options.latencyMs` is negative or not finite.
   */
  constructor(store: FakeFederatedCredentials, options: FakeFederatedCredentialPortOptions = {}) {
    const latencyMs = options.latencyMs ?? 0;
    if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`FakeFederatedCredentialPort: latencyMs must be a finite number ≥ 0, got ${latencyMs}`);
    this.#store = store;
    this.#clock = options.clock;
    this.#latencyMs = latencyMs;
  }

  /** Every credential of the identity. */
  list(identityResourceId: string): Promise<Result<readonly FederatedCredential[], FederatedCredentialError>> {
    return this.#call("list", identityResourceId, undefined, async () => {
      const listed = this.#store.list(identityResourceId);
      return listed.ok ? ok(listed.value.map(toPort)) : err(toPortError(listed.error));
    });
  }

  /** Creates or overwrites `credential.name`. */
  create(identityResourceId: string, credential: FederatedCredential): Promise<Result<FederatedCredential, FederatedCredentialError>> {
    return this.#call("create", identityResourceId, credential.name, async () => {
      const written = await this.#store.createOrUpdate(identityResourceId, credential.name, credential);
      return written.ok ? ok(toPort(written.value.credential)) : err(toPortError(written.error));
    });
  }

  /** Deletes `name`; an absent credential is `notFound`, as the port asks. */
  delete(identityResourceId: string, name: string): Promise<Result<void, FederatedCredentialError>> {
    return this.#call("delete", identityResourceId, name, async () => {
      const deleted = await this.#store.delete(identityResourceId, name);
      if (!deleted.ok) return err(toPortError(deleted.error));
      if (!deleted.value.deleted) return err({ kind: "notFound", message: `The federated identity credential '${name}' was not found.` });
      return ok(undefined);
    });
  }

  /**
   * Makes the next `n` calls (optionally only of `ops`) answer `error` after their latency, without reaching
   * the store. `n` may be `Infinity` (every such call from now on). Failures queued earlier answer first.
   * Throws a RangeError when `n` is negative or fractional.
   */
  failNext(n: number, error: FederatedCredentialError, ops: readonly Op[] = ["list", "create", "delete"]): void {
    if (!(n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n >= 0))) {
      throw new RangeError(`FakeFederatedCredentialPort.failNext: n must be a whole number ≥ 0 or Infinity, got ${n}`);
    }
    if (n > 0) this.#failures.push({ error, ops: [...ops], remaining: n });
  }

  /** Every call so far (failed ones included), oldest first, recorded when it arrived. */
  get calls(): readonly FakeFederatedCredentialPortCall[] {
    return this.#calls;
  }

  /** Write concurrency and store conflicts so far. */
  counts(): FakeFederatedCredentialPortCounts {
    return {
      inFlight: this.#inFlight,
      peakInFlight: this.#peakInFlight,
      peakInFlightPerIdentity: Math.max(0, ...this.#peakByIdentity.values()),
      peakInFlightByIdentity: Object.fromEntries(this.#peakByIdentity),
      conflicts: this.#conflicts,
    };
  }

  /** The credentials ARM shows under the identity now, in the port's shape (none for an unknown identity). */
  held(identityResourceId: string): readonly FederatedCredential[] {
    const listed = this.#store.list(identityResourceId);
    return listed.ok ? listed.value.map(toPort) : [];
  }

  async #call<T>(op: Op, identityResourceId: string, name: string | undefined, answer: () => Promise<Result<T, FederatedCredentialError>>): Promise<Result<T, FederatedCredentialError>> {
    this.#calls.push({ op, identityResourceId, ...(name === undefined ? {} : { name }), atMs: this.#now() });
    const key = identityKey(identityResourceId) ?? identityResourceId.toLowerCase();
    // Only writes count: Entra ID lets reads overlap anything.
    if (op !== "list") this.#enter(key);
    try {
      // Without latency the store is reached synchronously, so a write shows in the store's log as soon as it is called.
      if (this.#latencyMs > 0) await this.#sleep(this.#latencyMs);
      const scripted = this.#takeFailure(op);
      if (scripted !== undefined) return err(scripted);
      const result = await answer();
      if (!result.ok && result.error.kind === "conflict") this.#conflicts++;
      return result;
    } finally {
      if (op !== "list") this.#leave(key);
    }
  }

  #takeFailure(op: Op): FederatedCredentialError | undefined {
    const index = this.#failures.findIndex((f) => f.ops.includes(op));
    const failure = this.#failures[index];
    if (failure === undefined) return undefined;
    if (--failure.remaining <= 0) this.#failures.splice(index, 1);
    return failure.error;
  }

  #enter(key: string): void {
    const mine = (this.#inFlightByIdentity.get(key) ?? 0) + 1;
    this.#inFlightByIdentity.set(key, mine);
    this.#peakByIdentity.set(key, Math.max(this.#peakByIdentity.get(key) ?? 0, mine));
    this.#peakInFlight = Math.max(this.#peakInFlight, ++this.#inFlight);
  }

  #leave(key: string): void {
    this.#inFlightByIdentity.set(key, (this.#inFlightByIdentity.get(key) ?? 1) - 1);
    this.#inFlight--;
  }

  #now(): number {
    return this.#clock?.now() ?? Date.now();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#clock !== undefined) return this.#clock.sleep(ms);
    return new Promise<void>((resolve) => setTimeout(resolve, ms));
  }
}

function toPort(credential: FakeFederatedCredential): FederatedCredential {
  return { name: credential.name, issuer: credential.issuer, subject: credential.subject, audiences: [...credential.audiences] };
}

function toPortError(error: FakeFederatedCredentialError): FederatedCredentialError {
  switch (error.kind) {
    case "concurrentWrite":
      return { kind: "conflict", message: error.message };
    case "throttled":
      return { kind: "throttled", retryAfterMs: error.retryAfterMs ?? 1000, message: error.message };
    case "limitReached":
      return { kind: "limit", message: error.message };
    case "identityNotFound":
    case "notFound":
      return { kind: "notFound", message: error.message };
    case "invalidName":
    case "emptyProperties":
    case "audienceCount":
    case "duplicateIssuerSubject":
      return { kind: "failed", status: 400, message: error.message };
  }
}
