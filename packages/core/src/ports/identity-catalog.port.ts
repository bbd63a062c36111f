import type { Result } from "../result.js";

/** A user-assigned identity as the Microsoft.ManagedIdentity provider reports it. */
export interface CatalogIdentity {
  /** The ARM id as returned. */
  readonly id: string;
  readonly clientId: string;
  readonly principalId: string;
  readonly tenantId: string;
}

/** Why an identity lookup failed. */
export type CatalogError =
  | { readonly kind: "notFound"; readonly message: string }
  | { readonly kind: "forbidden"; readonly message: string }
  | { readonly kind: "throttled"; readonly retryAfterMs: number; readonly message: string }
  | { readonly kind: "transient"; readonly message: string };

/** Looks up user-assigned identities so MIC can validate them before assignment (adapter-azure: arm-msi). */
export interface IdentityCatalogPort {
  /** Reads one identity by its ARM id (any case). */
  getUserAssignedIdentity(resourceId: string): Promise<Result<CatalogIdentity, CatalogError>>;
}
