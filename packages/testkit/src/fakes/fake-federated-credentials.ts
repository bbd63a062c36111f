import { err, identityKey, ok, type CatalogIdentity, type ClockPort, type Result } from "@podid/core";

/** Names Entra ID accepts for a federated identity credential: 3–120 characters, alphanumeric first. */
export const FEDERATED_CREDENTIAL_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$/;

/** Entra ID's cap on federated identity credentials under one user-assigned identity. */
export const MAX_FEDERATED_CREDENTIALS_PER_IDENTITY = 20;

/** What a federated identity credential trusts: tokens of this issuer and subject, for this audience. */
export interface FakeFederatedCredentialProperties {
  /** Issuer URL, matched exactly (case-sensitive, trailing slash significant). */
  readonly issuer: string;
  /** Subject, e.g. `system:serviceaccount:<namespace>:<name>`, matched exactly. */
  readonly subject: string;
  /** Exactly one audience, e.g. `api://AzureADTokenExchange`. */
  readonly audiences: readonly string[];
}

/** A write as received: any property may be missing (the store answers Entra's 400 for that). */
export interface FakeFederatedCredentialInput {
  readonly issuer?: string | undefined;
  readonly subject?: string | undefined;
  readonly audiences?: readonly string[] | undefined;
}

/** One stored federated identity credential. */
export interface FakeFederatedCredential extends FakeFederatedCredentialProperties {
  /** ARM id of the parent identity, as registered in the catalog. */
  readonly identityId: string;
  /** Name as first written (lookups ignore case, as ARM's do). */
  readonly name: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** When Entra ID starts honouring this version of the credential (write time + propagation delay). */
  readonly visibleAtMs: number;
}

/** Why a federated-credential operation failed; the fake ARM turns each kind into Entra's HTTP answer. */
export interface FakeFederatedCredentialError {
  readonly kind:
    | "identityNotFound"
    | "notFound"
    | "invalidName"
    | "emptyProperties"
    | "audienceCount"
    | "duplicateIssuerSubject"
    | "limitReached"
    | "concurrentWrite"
    | "throttled";
  readonly message: string;
  /** For `throttled`: how long until a write is accepted again. */
  readonly retryAfterMs?: number;
}

/** One write (create, update or delete) as recorded by {@link FakeFederatedCredentials.writes}. */
export interface FakeFederatedCredentialWrite {
  readonly seq: number;
  readonly atMs: number;
  readonly identityId: string;
  readonly name: string;
  /** `create` or `update` (decided by whether the name existed when the PUT arrived), or `delete`. */
  readonly op: "create" | "update" | "delete";
  readonly outcome: "ok" | FakeFederatedCredentialError["kind"];
  /** Writes under this identity in flight when this one arrived, itself included (1 = serialised). */
  readonly concurrent: number;
  /** For deletes: whether the credential existed (a delete of a missing one succeeds without effect). */
  readonly existed?: boolean;
}

/** Counters of {@link FakeFederatedCredentials}. */
export interface FakeFederatedCredentialCounts {
  readonly creates: number;
  readonly updates: number;
  /** Deletes that removed a credential. */
  readonly deletes: number;
  /** Refused writes by reason. */
  readonly refused: Readonly<Partial<Record<FakeFederatedCredentialError["kind"], number>>>;
  /** The most writes under one identity that were in flight at once, counting refused arrivals (1 = serialised). */
  readonly peakConcurrentWrites: number;
  /** {@link peakConcurrentWrites} per identity (keyed by the lower-case identity id). */
  readonly peakConcurrentWritesByIdentity: Readonly<Record<string, number>>;
}

/** Options of {@link FakeFederatedCredentials}. */
export interface FakeFederatedCredentialsOptions {
  /**
   * Time a create, update or delete takes before it is committed (default 0). While it runs, another
   * write under the same identity gets 409 — set it above zero to make overlapping writes observable.
   */
  readonly writeLatencyMs?: number;
  /**
   * How long after a write Entra ID (the fake AAD) honours the new state (default 0). Real propagation can
   * take minutes, during which the exchange answers AADSTS70021.
   */
  readonly propagationDelayMs?: number;
  /**
   * Minimum time between two accepted creates/updates under one identity; a PUT sooner gets 429 with
   * `Retry-After` (default undefined: no throttling). Entra ID documents 0.25 requests/s per resource, i.e. 4000.
   */
  readonly writeIntervalMs?: number;
  /** Cap per identity (default {@link MAX_FEDERATED_CREDENTIALS_PER_IDENTITY}). */
  readonly maxPerIdentity?: number;
}

interface Version {
  readonly visibleAtMs: number;
  /** `undefined`: deleted in this version. */
  readonly value: FakeFederatedCredential | undefined;
}

interface IdentityState {
  /** Versions per lower-case name, oldest first; the last is what ARM shows. */
  readonly slots: Map<string, Version[]>;
  inFlight: number;
  lastAcceptedPutAtMs: number | undefined;
}

/**
 * The federated identity credentials of user-assigned identities (`Microsoft.ManagedIdentity/
 * userAssignedIdentities/federatedIdentityCredentials`), with Entra ID's rules: names matching
 * {@link FEDERATED_CREDENTIAL_NAME_PATTERN}, issuer, subject and exactly one audience required, issuer+subject
 * unique per identity, at most 20 per identity, no two writes under one identity at once (409), optional
 * per-identity throttling of creates/updates (429), and a propagation delay before Entra ID (the fake AAD)
 * honours a write ({@link visibleCredentials}). Every write is recorded ({@link writes}, {@link counts}) so
 * tests can prove a client serialises its writes. Owned by a `FakeIdentityCatalog`
 * (`catalog.federatedCredentials`), which decides whether the parent identity exists.
 */
export class FakeFederatedCredentials {
  readonly #lookupIdentity: (id: string) => CatalogIdentity | undefined;
  readonly #clock: ClockPort | undefined;
  readonly #byIdentity = new Map<string, IdentityState>();
  readonly #writes: FakeFederatedCredentialWrite[] = [];
  readonly #peakByIdentity = new Map<string, number>();
  #writeLatencyMs: number;
  #propagationDelayMs: number;
  #writeIntervalMs: number | undefined;
  readonly #max: number;

  /**
   * @param lookupIdentity finds the parent identity by ARM id (any case); `undefined` = it does not exist.
   * @param clock time for latency, throttling and propagation (default real time).
   */
  constructor(lookupIdentity: (id: string) => CatalogIdentity | undefined, options: FakeFederatedCredentialsOptions = {}, clock?: ClockPort) {
    this.#lookupIdentity = lookupIdentity;
    this.#clock = clock;
    this.#writeLatencyMs = options.writeLatencyMs ?? 0;
    this.#propagationDelayMs = options.propagationDelayMs ?? 0;
    this.#writeIntervalMs = options.writeIntervalMs;
    this.#max = options.maxPerIdentity ?? MAX_FEDERATED_CREDENTIALS_PER_IDENTITY;
  }

  // ── Settings ──────────────────────────────────────────────────────────────────────────────────

  /** Sets how long each write takes from now on. */
  setWriteLatency(ms: number): void {
    this.#writeLatencyMs = ms;
  }

  /** Sets the propagation delay of later writes (earlier writes keep theirs). */
  setPropagationDelay(ms: number): void {
    this.#propagationDelayMs = ms;
  }

  /** Sets (or with `undefined` turns off) the per-identity minimum interval between creates/updates. */
  setWriteInterval(ms: number | undefined): void {
    this.#writeIntervalMs = ms;
  }

  // ── ARM's view ────────────────────────────────────────────────────────────────────────────────

  /** Creates or replaces credential `name` under the identity; `created` tells a create (ARM's 201) from an update (200). */
  async createOrUpdate(identityId: string, name: string, input: FakeFederatedCredentialInput): Promise<Result<{ readonly credential: FakeFederatedCredential; readonly created: boolean }, FakeFederatedCredentialError>> {
    const identity = this.#lookupIdentity(identityId);
    if (identity === undefined) return err(parentMissing(identityId));
    const state = this.#state(identity.id);
    const existing = latest(state.slots.get(name.toLowerCase()));
    const op = existing === undefined ? "create" : "update";
    const refuse = (error: FakeFederatedCredentialError, concurrent = state.inFlight + 1): Result<never, FakeFederatedCredentialError> => {
      this.#record(identity.id, name, op, error.kind, concurrent);
      return err(error);
    };
    if (!FEDERATED_CREDENTIAL_NAME_PATTERN.test(name)) {
      return refuse({ kind: "invalidName", message: `Federated Identity Credential name '${name}' is invalid.` });
    }
    const props = checkProperties(input);
    if (!props.ok) return refuse(props.error);
    // Noted before the throttle answers, so a client that overlaps writes shows up even when throttled.
    this.#notePeak(identity.id, state.inFlight + 1);
    const now = this.#now();
    const interval = this.#writeIntervalMs;
    if (interval !== undefined && state.lastAcceptedPutAtMs !== undefined && now - state.lastAcceptedPutAtMs < interval) {
      const retryAfterMs = interval - (now - state.lastAcceptedPutAtMs);
      return refuse({
        kind: "throttled",
        retryAfterMs,
        message: `Too many federated identity credential write requests for the managed identity '${identity.id}'. Retry after ${Math.ceil(retryAfterMs / 1000)} seconds.`,
      });
    }
    const busy = this.#busy(identity.id, state);
    if (busy !== undefined) return refuse(busy, state.inFlight + 1);
    if (interval !== undefined) state.lastAcceptedPutAtMs = now;
    const duplicate = this.#current(state).find((c) => c.name.toLowerCase() !== name.toLowerCase() && c.issuer === props.value.issuer && c.subject === props.value.subject);
    if (duplicate !== undefined) return refuse({ kind: "duplicateIssuerSubject", message: "Issuer and subject combination already exists for this Managed Identity." });
    if (existing === undefined && this.#current(state).length >= this.#max) {
      return refuse({
        kind: "limitReached",
        message: `The managed identity '${identity.id}' already has the maximum number of federated identity credentials (${this.#max}).`,
      });
    }
    state.inFlight++;
    try {
      await this.#sleep(this.#writeLatencyMs);
      const at = this.#now();
      const credential: FakeFederatedCredential = {
        identityId: identity.id,
        name: existing?.name ?? name,
        issuer: props.value.issuer,
        subject: props.value.subject,
        audiences: [...props.value.audiences],
        createdAtMs: existing?.createdAtMs ?? at,
        updatedAtMs: at,
        visibleAtMs: at + this.#propagationDelayMs,
      };
      this.#push(state, name, { visibleAtMs: credential.visibleAtMs, value: credential });
      this.#record(identity.id, name, op, "ok", 1);
      return ok({ credential, created: existing === undefined });
    } finally {
      state.inFlight--;
    }
  }

  /** Deletes credential `name`; deleting one that does not exist succeeds with `deleted: false` (ARM's 204). */
  async delete(identityId: string, name: string): Promise<Result<{ readonly deleted: boolean }, FakeFederatedCredentialError>> {
    const identity = this.#lookupIdentity(identityId);
    if (identity === undefined) return err(parentMissing(identityId));
    const state = this.#state(identity.id);
    const existed = latest(state.slots.get(name.toLowerCase())) !== undefined;
    const busy = this.#busy(identity.id, state);
    if (busy !== undefined) {
      this.#record(identity.id, name, "delete", busy.kind, state.inFlight + 1, existed);
      return err(busy);
    }
    state.inFlight++;
    try {
      await this.#sleep(this.#writeLatencyMs);
      const stillThere = latest(state.slots.get(name.toLowerCase())) !== undefined;
      if (stillThere) this.#push(state, name, { visibleAtMs: this.#now() + this.#propagationDelayMs, value: undefined });
      this.#record(identity.id, name, "delete", "ok", 1, stillThere);
      return ok({ deleted: stillThere });
    } finally {
      state.inFlight--;
    }
  }

  /** Credential `name` under the identity (any case), as ARM shows it right after the write. */
  get(identityId: string, name: string): Result<FakeFederatedCredential, FakeFederatedCredentialError> {
    const identity = this.#lookupIdentity(identityId);
    if (identity === undefined) return err(parentMissing(identityId));
    const found = latest(this.#state(identity.id).slots.get(name.toLowerCase()));
    if (found === undefined) {
      return err({ kind: "notFound", message: `The federated identity credential '${name}' was not found under the managed identity '${identity.id}'.` });
    }
    return ok(found);
  }

  /** Every credential under the identity, oldest first, as ARM shows them. */
  list(identityId: string): Result<readonly FakeFederatedCredential[], FakeFederatedCredentialError> {
    const identity = this.#lookupIdentity(identityId);
    if (identity === undefined) return err(parentMissing(identityId));
    return ok(this.#current(this.#state(identity.id)));
  }

  /**
   * Adds a credential directly (test set-up, e.g. one "someone else" created), bypassing latency,
   * concurrency and throttling but not the name and property rules. Visible to Entra ID at once unless
   * `propagated: false`. Throws when the identity is unknown or a rule refuses it.
   */
  add(identityId: string, name: string, properties: FakeFederatedCredentialProperties, options: { readonly propagated?: boolean } = {}): FakeFederatedCredential {
    const identity = this.#lookupIdentity(identityId);
    if (identity === undefined) throw new Error(`FakeFederatedCredentials.add: unknown identity ${identityId}`);
    if (!FEDERATED_CREDENTIAL_NAME_PATTERN.test(name)) throw new Error(`FakeFederatedCredentials.add: invalid name ${name}`);
    const props = checkProperties(properties);
    if (!props.ok) throw new Error(`FakeFederatedCredentials.add: ${props.error.message}`);
    const state = this.#state(identity.id);
    const at = this.#now();
    const existing = latest(state.slots.get(name.toLowerCase()));
    const credential: FakeFederatedCredential = {
      identityId: identity.id,
      name: existing?.name ?? name,
      ...props.value,
      audiences: [...props.value.audiences],
      createdAtMs: existing?.createdAtMs ?? at,
      updatedAtMs: at,
      visibleAtMs: options.propagated === false ? at + this.#propagationDelayMs : at,
    };
    this.#push(state, name, { visibleAtMs: credential.visibleAtMs, value: credential });
    return credential;
  }

  /** Forgets every credential of an identity (it was deleted in Azure, and its credentials with it). */
  forgetIdentity(identityId: string): void {
    this.#byIdentity.delete(keyOf(identityId));
  }

  // ── Entra ID's view ───────────────────────────────────────────────────────────────────────────

  /**
   * The credentials Entra ID honours now under the identity: for each name, the newest version whose
   * propagation delay has passed (a deleted credential keeps being honoured until its deletion propagated).
   */
  visibleCredentials(identityId: string): readonly FakeFederatedCredential[] {
    const identity = this.#lookupIdentity(identityId);
    if (identity === undefined) return [];
    const now = this.#now();
    const out: FakeFederatedCredential[] = [];
    for (const versions of this.#state(identity.id).slots.values()) {
      const visible = versions.filter((v) => v.visibleAtMs <= now).pop();
      if (visible?.value !== undefined) out.push(visible.value);
    }
    return out;
  }

  /**
   * The credential Entra ID would use for a token of `issuer` and `subject` carrying `audiences`: exact,
   * case-sensitive issuer and subject, and the credential's audience among the token's.
   */
  findVisibleMatch(identityId: string, claims: { readonly issuer: string; readonly subject: string; readonly audiences: readonly string[] }): FakeFederatedCredential | undefined {
    return this.visibleCredentials(identityId).find(
      (c) => c.issuer === claims.issuer && c.subject === claims.subject && c.audiences.some((a) => claims.audiences.includes(a)),
    );
  }

  // ── Inspection ────────────────────────────────────────────────────────────────────────────────

  /** Every write (including refused ones), oldest first. */
  get writes(): readonly FakeFederatedCredentialWrite[] {
    return this.#writes;
  }

  /** Counters since creation or the last {@link resetCounters}. */
  counts(): FakeFederatedCredentialCounts {
    const ok = (op: FakeFederatedCredentialWrite["op"]): number => this.#writes.filter((w) => w.op === op && w.outcome === "ok" && (op !== "delete" || w.existed === true)).length;
    const refused: Partial<Record<FakeFederatedCredentialError["kind"], number>> = {};
    for (const w of this.#writes) if (w.outcome !== "ok") refused[w.outcome] = (refused[w.outcome] ?? 0) + 1;
    const byIdentity = Object.fromEntries(this.#peakByIdentity);
    return {
      creates: ok("create"),
      updates: ok("update"),
      deletes: ok("delete"),
      refused,
      peakConcurrentWrites: Math.max(0, ...this.#peakByIdentity.values()),
      peakConcurrentWritesByIdentity: byIdentity,
    };
  }

  /** Clears the write log and counters (credentials stay). */
  resetCounters(): void {
    this.#writes.length = 0;
    this.#peakByIdentity.clear();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  #state(identityId: string): IdentityState {
    const key = keyOf(identityId);
    let state = this.#byIdentity.get(key);
    if (state === undefined) {
      state = { slots: new Map(), inFlight: 0, lastAcceptedPutAtMs: undefined };
      this.#byIdentity.set(key, state);
    }
    return state;
  }

  #current(state: IdentityState): FakeFederatedCredential[] {
    const out: FakeFederatedCredential[] = [];
    for (const versions of state.slots.values()) {
      const value = latest(versions);
      if (value !== undefined) out.push(value);
    }
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs);
  }

  /** The 409 Entra ID answers while another write under the identity runs; updates the peak either way. */
  #busy(identityId: string, state: IdentityState): FakeFederatedCredentialError | undefined {
    this.#notePeak(identityId, state.inFlight + 1);
    if (state.inFlight === 0) return undefined;
    return {
      kind: "concurrentWrite",
      message:
        `Too many Federated Identity Credentials are written concurrently for the managed identity '${identityId.toLowerCase()}'. ` +
        "Concurrent Federated Identity Credentials writes under the same managed identity are not supported.",
    };
  }

  #notePeak(identityId: string, concurrent: number): void {
    const key = keyOf(identityId);
    this.#peakByIdentity.set(key, Math.max(this.#peakByIdentity.get(key) ?? 0, concurrent));
  }

  /** Appends a version and drops versions that can never be seen again (older than the newest visible one). */
  #push(state: IdentityState, name: string, version: Version): void {
    const key = name.toLowerCase();
    const versions = state.slots.get(key) ?? [];
    versions.push(version);
    const now = this.#now();
    let newestVisible = -1;
    versions.forEach((v, i) => {
      if (v.visibleAtMs <= now) newestVisible = i;
    });
    const kept = newestVisible > 0 ? versions.slice(newestVisible) : versions;
    if (kept.length === 1 && kept[0]?.value === undefined && (kept[0]?.visibleAtMs ?? 0) <= now) state.slots.delete(key);
    else state.slots.set(key, kept);
  }

  #record(identityId: string, name: string, op: FakeFederatedCredentialWrite["op"], outcome: FakeFederatedCredentialWrite["outcome"], concurrent: number, existed?: boolean): void {
    this.#writes.push({
      seq: this.#writes.length + 1,
      atMs: this.#now(),
      identityId,
      name,
      op,
      outcome,
      concurrent,
      ...(existed !== undefined ? { existed } : {}),
    });
  }

  #now(): number {
    return this.#clock?.now() ?? Date.now();
  }

  async #sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    if (this.#clock !== undefined) await this.#clock.sleep(ms);
    else await new Promise<void>((resolve) => setTimeout(resolve, ms));
  }
}

function keyOf(identityId: string): string {
  return identityKey(identityId) ?? identityId.toLowerCase();
}

function latest(versions: readonly Version[] | undefined): FakeFederatedCredential | undefined {
  return versions === undefined ? undefined : versions[versions.length - 1]?.value;
}

function parentMissing(identityId: string): FakeFederatedCredentialError {
  return { kind: "identityNotFound", message: `The parent user-assigned identity '${identityId}' does not exist.` };
}

/** Entra ID's property rules: issuer, subject and audiences all present, exactly one audience. */
function checkProperties(input: FakeFederatedCredentialInput): Result<FakeFederatedCredentialProperties, FakeFederatedCredentialError> {
  const { issuer, subject, audiences } = input;
  if (issuer === undefined || issuer === "" || subject === undefined || subject === "" || audiences === undefined) {
    return err({ kind: "emptyProperties", message: "Federated Identity Credential from HTTP body has empty properties." });
  }
  if (audiences.length !== 1 || audiences[0] === "") {
    return err({ kind: "audienceCount", message: "Federated identity credentials must have exactly 1 audience." });
  }
  return ok({ issuer, subject, audiences });
}
