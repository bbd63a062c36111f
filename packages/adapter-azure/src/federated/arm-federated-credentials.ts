import type { FederatedIdentityCredential, ManagedServiceIdentityClient } from "@azure/arm-msi";
import type { TokenCredential } from "@azure/core-auth";
import {
  err,
  ok,
  parseRetryAfter,
  parseUserAssignedIdentityId,
  type FederatedCredential,
  type FederatedCredentialError,
  type FederatedCredentialPort,
  type Result,
} from "@podid/core";
import { armFailureOf } from "../compute/arm-failure.js";
import type { ArmClientSettings } from "../compute/arm-client-settings.js";
import { MsiClients } from "../catalog/msi-clients.js";

/** Options of {@link ArmFederatedCredentials}. */
export interface ArmFederatedCredentialsOptions extends ArmClientSettings {
  readonly credential: TokenCredential;
  /** Clock for Retry-After dates (default `Date.now`). */
  readonly now?: () => number;
  /** Told about each call's outcome (metrics): `fic_list`, `fic_create` or `fic_delete`, and the error kind if it failed. */
  readonly onCall?: (operation: "fic_list" | "fic_create" | "fic_delete", error?: FederatedCredentialError["kind"]) => void;
}

/** Wait assumed when a 429 carries no usable Retry-After: Entra ID throttles writes to about one per 4 s per identity. */
const DEFAULT_THROTTLE_MS = 4_000;

/** A 400 whose text says the identity holds the most credentials allowed (Entra ID answers plain `BadRequest`). */
const LIMIT_TEXT = /maximum number of federated identity credentials|too many federated identity credentials|limit of 20|exceed(?:s|ed)? .*limit/i;

/**
 * Maps whatever an `@azure/arm-msi` call threw to the port's typed error: 409 overlapping write → `conflict`,
 * 429 → `throttled` with its Retry-After, 400 naming the 20-credential cap → `limit`, 404 → `notFound`, anything
 * else (403, other 400s, 5xx after the SDK's own retries, network) → `failed` with its status.
 */
export function toFederatedCredentialError(error: unknown, nowMs: number): FederatedCredentialError {
  const failure = armFailureOf(error);
  const message = failure.code === undefined ? failure.message : `${failure.code}: ${failure.message}`;
  switch (failure.statusCode) {
    case 409:
      return { kind: "conflict", message };
    case 429:
      return { kind: "throttled", retryAfterMs: parseRetryAfter(failure.retryAfter, nowMs) ?? DEFAULT_THROTTLE_MS, message };
    case 404:
      return { kind: "notFound", message };
    case 400:
      if (LIMIT_TEXT.test(failure.message)) return { kind: "limit", message };
      return { kind: "failed", status: 400, message };
    default:
      return { kind: "failed", ...(failure.statusCode === 0 ? {} : { status: failure.statusCode }), message };
  }
}

function fromArm(item: FederatedIdentityCredential): FederatedCredential {
  return { name: item.name ?? "", issuer: item.issuer ?? "", subject: item.subject ?? "", audiences: item.audiences ?? [] };
}

/**
 * {@link FederatedCredentialPort} on `@azure/arm-msi`'s `federatedIdentityCredentials` (list with paging,
 * `createOrUpdate`, `delete`) for the identity named by an ARM id (docs/adr/0021-federated-identities.md).
 * `credentialScopes` is set from the cloud configuration like the other ARM adapters. The SDK retries 5xx itself
 * and never 429; the caller (core's `FederatedCredentialExecutor`) serialises writes per identity and retries 409
 * and 429. Nothing here throws.
 */
export class ArmFederatedCredentials implements FederatedCredentialPort {
  readonly #options: ArmFederatedCredentialsOptions;
  readonly #clients: MsiClients;
  readonly #now: () => number;

  /** Creates the adapter; SDK clients are created per subscription on first use. */
  constructor(options: ArmFederatedCredentialsOptions) {
    this.#options = options;
    this.#clients = new MsiClients(options.credential, options);
    this.#now = options.now ?? Date.now;
  }

  /** Every credential of the identity, following `nextLink` pages. */
  async list(identityResourceId: string): Promise<Result<readonly FederatedCredential[], FederatedCredentialError>> {
    return this.#call("fic_list", identityResourceId, async (client, resourceGroup, name) => {
      const out: FederatedCredential[] = [];
      for await (const item of client.federatedIdentityCredentials.list(resourceGroup, name)) out.push(fromArm(item));
      return out;
    });
  }

  /** Creates (or overwrites) one credential. */
  async create(identityResourceId: string, credential: FederatedCredential): Promise<Result<FederatedCredential, FederatedCredentialError>> {
    return this.#call("fic_create", identityResourceId, async (client, resourceGroup, name) =>
      fromArm(
        await client.federatedIdentityCredentials.createOrUpdate(resourceGroup, name, credential.name, {
          issuer: credential.issuer,
          subject: credential.subject,
          audiences: [...credential.audiences],
        }),
      ),
    );
  }

  /** Deletes one credential (ARM answers 204 when there was none, which is success too). */
  async delete(identityResourceId: string, credentialName: string): Promise<Result<void, FederatedCredentialError>> {
    return this.#call("fic_delete", identityResourceId, async (client, resourceGroup, name) => {
      await client.federatedIdentityCredentials.delete(resourceGroup, name, credentialName);
    });
  }

  async #call<T>(
    operation: "fic_list" | "fic_create" | "fic_delete",
    identityResourceId: string,
    run: (client: ManagedServiceIdentityClient, resourceGroup: string, name: string) => Promise<T>,
  ): Promise<Result<T, FederatedCredentialError>> {
    const parsed = parseUserAssignedIdentityId(identityResourceId);
    if (!parsed.ok) return err({ kind: "notFound", message: parsed.error.message });
    const { subscriptionId, resourceGroup, name } = parsed.value;
    try {
      const value = await run(this.#clients.forSubscription(subscriptionId), resourceGroup, name);
      this.#options.onCall?.(operation);
      return ok(value);
    } catch (e) {
      const error = toFederatedCredentialError(e, this.#now());
      this.#options.onCall?.(operation, error.kind);
      return err(error);
    }
  }
}
