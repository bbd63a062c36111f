import {
  err,
  identityKey,
  ok,
  parseUserAssignedIdentityId,
  type CatalogError,
  type CatalogIdentity,
  type ClockPort,
  type IdentityCatalogPort,
  type Result,
} from "@podid/core";
import { FakeFederatedCredentials, type FakeFederatedCredentialsOptions } from "./fake-federated-credentials.js";
import { fakeGuid } from "./fake-ids.js";

/** The tenant fake identities belong to unless told otherwise. */
export const FAKE_TENANT_ID = fakeGuid("podid-testkit/tenant");

/** What to register in a {@link FakeIdentityCatalog}; omitted ids are derived from the identity id. */
export interface FakeIdentityInput {
  /** ARM id of the user-assigned identity (any case). */
  readonly id: string;
  readonly clientId?: string;
  readonly principalId?: string;
  readonly tenantId?: string;
}

/**
 * The catalog record every fake uses for `id` when nothing else was registered: client and principal
 * ids are derived deterministically from the canonical key, so the catalog and the token source agree
 * without sharing state. Throws when `id` is not a user-assigned identity id.
 */
export function fakeIdentityRecord(id: string, tenantId: string = FAKE_TENANT_ID): CatalogIdentity {
  const key = identityKey(id);
  if (key === undefined) throw new Error(`not a user-assigned identity id: ${id}`);
  return { id, clientId: fakeGuid(`client/${key}`), principalId: fakeGuid(`principal/${key}`), tenantId };
}

/** Options of {@link FakeIdentityCatalog}. */
export interface FakeIdentityCatalogOptions {
  /** Tenant of registered identities that do not name one (default {@link FAKE_TENANT_ID}). */
  readonly tenantId?: string;
  /** Clock for {@link latencyMs}. */
  readonly clock?: ClockPort;
  /** Virtual latency of each lookup (needs `clock`). */
  readonly latencyMs?: number;
  /**
   * Write latency, propagation delay, throttling and cap of the identities' federated identity credentials
   * ({@link FakeIdentityCatalog.federatedCredentials}; they run on `clock`, default real time).
   */
  readonly federated?: FakeFederatedCredentialsOptions;
}

/**
 * An in-memory Microsoft.ManagedIdentity provider implementing {@link IdentityCatalogPort}: registered
 * identities are found by id in any case; unknown ids get `notFound` like ARM's 404 ResourceNotFound.
 * Lookups by client or principal id serve the fake token source. Faults: {@link forbid},
 * {@link failNext}, {@link injectFault}.
 */
export class FakeIdentityCatalog implements IdentityCatalogPort {
  readonly #byKey = new Map<string, CatalogIdentity>();
  readonly #forbidden = new Set<string>();
  readonly #failures: CatalogError[] = [];
  readonly #faults = new Set<(id: string) => CatalogError | undefined>();
  readonly #options: FakeIdentityCatalogOptions;
  #lookups = 0;
  readonly #lookupsByKey = new Map<string, number>();
  /**
   * The federated identity credentials under the registered identities (what the fake ARM serves under
   * `…/userAssignedIdentities/{name}/federatedIdentityCredentials` and the fake AAD trusts).
   */
  readonly federatedCredentials: FakeFederatedCredentials;

  /** Creates an empty catalog. */
  constructor(options: FakeIdentityCatalogOptions = {}) {
    this.#options = options;
    this.federatedCredentials = new FakeFederatedCredentials((id) => this.lookup(id), options.federated, options.clock);
  }

  /** Registers (or replaces) an identity and returns its record. Throws for ids that are not identity ids. */
  register(input: FakeIdentityInput | string): CatalogIdentity {
    const spec = typeof input === "string" ? { id: input } : input;
    const derived = fakeIdentityRecord(spec.id, spec.tenantId ?? this.#options.tenantId ?? FAKE_TENANT_ID);
    const record: CatalogIdentity = {
      id: spec.id,
      clientId: spec.clientId ?? derived.clientId,
      principalId: spec.principalId ?? derived.principalId,
      tenantId: derived.tenantId,
    };
    this.#byKey.set(identityKey(spec.id) ?? spec.id.toLowerCase(), record);
    return record;
  }

  /** Removes an identity (it was deleted in Azure, with its federated credentials); false when it was not registered. */
  unregister(id: string): boolean {
    this.federatedCredentials.forgetIdentity(id);
    return this.#byKey.delete(id.toLowerCase());
  }

  /** The registered record for `id` (any case), without counting a lookup. */
  lookup(id: string): CatalogIdentity | undefined {
    return this.#byKey.get(id.toLowerCase());
  }

  /** The registered identity with this client id (case-insensitive). */
  findByClientId(clientId: string): CatalogIdentity | undefined {
    const wanted = clientId.toLowerCase();
    return [...this.#byKey.values()].find((r) => r.clientId.toLowerCase() === wanted);
  }

  /** The registered identity with this principal (object) id (case-insensitive). */
  findByPrincipalId(principalId: string): CatalogIdentity | undefined {
    const wanted = principalId.toLowerCase();
    return [...this.#byKey.values()].find((r) => r.principalId.toLowerCase() === wanted);
  }

  /** Every registered identity. */
  list(): readonly CatalogIdentity[] {
    return [...this.#byKey.values()];
  }

  /** Lookups of these ids fail with `forbidden` (the caller lacks read permission). */
  forbid(ids: readonly string[]): void {
    for (const id of ids) this.#forbidden.add(id.toLowerCase());
  }

  /** Makes the next `n` lookups fail with `error`. */
  failNext(n: number, error: CatalogError): void {
    for (let i = 0; i < n; i++) this.#failures.push(error);
  }

  /** Adds a predicate consulted on every lookup; returns a function removing it. */
  injectFault(fault: (id: string) => CatalogError | undefined): () => void {
    this.#faults.add(fault);
    return () => {
      this.#faults.delete(fault);
    };
  }

  /** Lookups so far, in total or for one id (any case). */
  lookups(id?: string): number {
    return id === undefined ? this.#lookups : (this.#lookupsByKey.get(id.toLowerCase()) ?? 0);
  }

  /** Reads one identity by its ARM id (any case). */
  async getUserAssignedIdentity(resourceId: string): Promise<Result<CatalogIdentity, CatalogError>> {
    const key = resourceId.toLowerCase();
    this.#lookups++;
    this.#lookupsByKey.set(key, (this.#lookupsByKey.get(key) ?? 0) + 1);
    const { clock, latencyMs } = this.#options;
    if (clock !== undefined && latencyMs !== undefined && latencyMs > 0) await clock.sleep(latencyMs);
    else await Promise.resolve();
    const queued = this.#failures.shift();
    if (queued !== undefined) return err(queued);
    for (const fault of this.#faults) {
      const error = fault(resourceId);
      if (error !== undefined) return err(error);
    }
    if (this.#forbidden.has(key)) {
      return err({
        kind: "forbidden",
        message: `AuthorizationFailed: The client does not have authorization to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/read' over scope '${resourceId}'.`,
      });
    }
    const record = this.#byKey.get(key);
    if (record !== undefined) return ok(record);
    const parsed = parseUserAssignedIdentityId(resourceId);
    const where = parsed.ok
      ? `'Microsoft.ManagedIdentity/userAssignedIdentities/${parsed.value.name}' under resource group '${parsed.value.resourceGroup}'`
      : `'${resourceId}'`;
    return err({ kind: "notFound", message: `ResourceNotFound: The Resource ${where} was not found.` });
  }
}
