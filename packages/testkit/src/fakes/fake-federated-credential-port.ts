import { err, ok, type FederatedCredential, type FederatedCredentialError, type FederatedCredentialPort, type Result } from "@podid/core";
import type { FakeFederatedCredential, FakeFederatedCredentialError, FakeFederatedCredentials } from "./fake-federated-credentials.js";

/**
 * Core's {@link FederatedCredentialPort} over a {@link FakeFederatedCredentials} (usually
 * `catalog.federatedCredentials`), for testing MIC's federated-credential executor in memory with Entra ID's
 * rules: overlapping writes under one identity → `conflict`, throttled creates → `throttled`, the 21st
 * credential → `limit`, unknown identity or credential → `notFound`, other refusals (names, properties,
 * duplicate issuer+subject) → `failed` with status 400. The same store serves `FakeArmServer`, so in-memory
 * and over-HTTP tests see the same credentials and write log.
 */
export class FakeFederatedCredentialPort implements FederatedCredentialPort {
  readonly #store: FakeFederatedCredentials;

  /** @param store usually `catalog.federatedCredentials`, so the fake ARM and AAD see the same credentials. */
  constructor(store: FakeFederatedCredentials) {
    this.#store = store;
  }

  /** Every credential of the identity. */
  async list(identityResourceId: string): Promise<Result<readonly FederatedCredential[], FederatedCredentialError>> {
    await Promise.resolve();
    const listed = this.#store.list(identityResourceId);
    return listed.ok ? ok(listed.value.map(toPort)) : err(toPortError(listed.error));
  }

  /** Creates or overwrites `credential.name`. */
  async create(identityResourceId: string, credential: FederatedCredential): Promise<Result<FederatedCredential, FederatedCredentialError>> {
    const written = await this.#store.createOrUpdate(identityResourceId, credential.name, credential);
    return written.ok ? ok(toPort(written.value.credential)) : err(toPortError(written.error));
  }

  /** Deletes `name`; an absent credential is `notFound`, as the port asks. */
  async delete(identityResourceId: string, name: string): Promise<Result<void, FederatedCredentialError>> {
    const deleted = await this.#store.delete(identityResourceId, name);
    if (!deleted.ok) return err(toPortError(deleted.error));
    if (!deleted.value.deleted) return err({ kind: "notFound", message: `The federated identity credential '${name}' was not found.` });
    return ok(undefined);
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
