import type { Result } from "../result.js";

/**
 * A federated identity credential of a user-assigned identity: Entra ID exchanges a token from `issuer` whose `sub`
 * is `subject` and whose `aud` holds one of `audiences` for a token of that identity
 * (docs/adr/0021-federated-identities.md).
 */
export interface FederatedCredential {
  /** Unique per identity; podid's own names come from `federatedCredentialName`. */
  readonly name: string;
  /** Compared exactly (case-sensitive), as Entra ID does. */
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: readonly string[];
}

/** Why a federated-credential call failed, classified so the executor can act without parsing text. */
export type FederatedCredentialError =
  /** 409: another write under the same identity is in progress; retry later. */
  | { readonly kind: "conflict"; readonly message: string }
  /** 429: wait `retryAfterMs` before the next write under this identity. */
  | { readonly kind: "throttled"; readonly retryAfterMs: number; readonly message: string }
  /** 400: the identity already holds the most credentials Entra ID allows (20). */
  | { readonly kind: "limit"; readonly message: string }
  /** 404: the identity (or, on delete, the credential) does not exist. */
  | { readonly kind: "notFound"; readonly message: string }
  /** Anything else: forbidden, invalid, 5xx, network. */
  | { readonly kind: "failed"; readonly status?: number; readonly message: string };

/**
 * ARM access to the federated identity credentials of one user-assigned identity at a time (adapter-azure binds it
 * to `@azure/arm-msi`; testkit has a fake). `identityResourceId` is the identity's ARM id as written in the
 * AzureIdentity.
 */
export interface FederatedCredentialPort {
  /** Every credential of the identity (all pages). */
  list(identityResourceId: string): Promise<Result<readonly FederatedCredential[], FederatedCredentialError>>;
  /** Creates (or overwrites) the credential named `credential.name`. */
  create(identityResourceId: string, credential: FederatedCredential): Promise<Result<FederatedCredential, FederatedCredentialError>>;
  /** Deletes the credential named `name`; an absent one is `notFound`. */
  delete(identityResourceId: string, name: string): Promise<Result<void, FederatedCredentialError>>;
}
