import type { Result } from "../result.js";
import type { CancellationSignal } from "./cancellation.js";

/**
 * A token response in IMDS's wire shape: every field a string. Sources pass through any extra
 * fields they received (e.g. `ext_expires_in`) so nothing is lost on the way to the pod.
 */
export interface ImdsTokenBody {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly expires_in: string;
  /** Absolute expiry in Unix seconds (MSAL derives the lifetime from this). */
  readonly expires_on: string;
  readonly not_before: string;
  readonly resource: string;
  readonly token_type: string;
  readonly client_id: string;
  readonly [extra: string]: string;
}

/** What to ask a token source for. */
export type TokenSourceRequest =
  /** Type 0 or node identity via IMDS; no selector = the system-assigned identity. */
  | {
      readonly kind: "managedIdentity";
      readonly resource: string;
      readonly selector?:
        | { readonly by: "client_id"; readonly value: string }
        | { readonly by: "object_id"; readonly value: string }
        | { readonly by: "msi_res_id"; readonly value: string };
    }
  /** Type 1: client secret, optionally with auxiliary tenants. */
  | {
      readonly kind: "servicePrincipalSecret";
      readonly resource: string;
      readonly tenantId: string;
      readonly clientId: string;
      readonly secret: string;
      readonly auxiliaryTenantIds: readonly string[];
      readonly authorityHost: string;
    }
  /** Type 2: client certificate (PEM or PKCS#12 bytes with optional password). */
  | {
      readonly kind: "servicePrincipalCertificate";
      readonly resource: string;
      readonly tenantId: string;
      readonly clientId: string;
      readonly certificate: Uint8Array;
      readonly password: string;
      readonly authorityHost: string;
    }
  /**
   * Type 3 (federated): client credentials with the calling pod's own service-account token as the
   * JWT-bearer client assertion (docs/adr/0021-federated-identities.md).
   */
  | {
      readonly kind: "federated";
      readonly resource: string;
      readonly tenantId: string;
      readonly clientId: string;
      readonly authorityHost: string;
      /** The pod's projected service-account token (a JWT with audience `api://AzureADTokenExchange`). */
      readonly assertion: string;
    };

/** Why a token could not be obtained; maps to NMI's 403 (`rejected`) or 503 (`unavailable`). */
export type TokenSourceError =
  /** IMDS/AAD answered and refused (identity not on the VM, bad secret, …). */
  | { readonly kind: "rejected"; readonly status: number; readonly error: string; readonly description: string }
  /** IMDS/AAD unreachable, timed out or failing; worth retrying. */
  | { readonly kind: "unavailable"; readonly message: string }
  /** IMDS throttled us. */
  | { readonly kind: "throttled"; readonly retryAfterMs: number; readonly message: string };

/** Obtains tokens from IMDS or AAD (adapter-azure; fakes in testkit). */
export interface TokenSourcePort {
  acquire(request: TokenSourceRequest, signal?: CancellationSignal): Promise<Result<ImdsTokenBody, TokenSourceError>>;
}
