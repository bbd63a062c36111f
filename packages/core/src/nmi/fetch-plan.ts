import { err, ok, type Result } from "../result.js";
import type { AzureIdentity, SecretRef } from "../model/types.js";
import type { SecretData } from "../ports/kube-reader.port.js";
import type { TokenSourceRequest } from "../ports/token-source.port.js";
import type { FederatedTokenVolume } from "./federated-token-volume.js";
import { decodeUtf8 } from "./utf8.js";

/**
 * What NMI must do to obtain a token for a chosen identity. Type 0 needs nothing more; types 1 and 2
 * first need their Secret read (async, by nmi-server), then {@link completeFetchPlan} builds the
 * {@link TokenSourceRequest}.
 * @packageDocumentation
 */

/** The managed-identity variant of {@link TokenSourceRequest}. */
export type ManagedIdentityTokenRequest = Extract<TokenSourceRequest, { readonly kind: "managedIdentity" }>;

/** A token to fetch, possibly after reading a Secret. */
export type TokenFetchPlan =
  /** Type 0 (user-assigned MSI) or a node identity: ask IMDS directly. */
  | { readonly kind: "managedIdentity"; readonly request: ManagedIdentityTokenRequest }
  /** Type 1: read `secretRef`, then client-credentials with the secret. */
  | {
      readonly kind: "servicePrincipalSecret";
      readonly resource: string;
      readonly tenantId: string;
      readonly clientId: string;
      readonly secretRef: SecretRef;
      readonly auxiliaryTenantIds: readonly string[];
      /** `spec.adEndpoint`; `""` = the token source's default (public cloud). */
      readonly authorityHost: string;
    }
  /** Type 2: read `secretRef` (keys `certificate`, `password`), then a client assertion. */
  | {
      readonly kind: "servicePrincipalCertificate";
      readonly resource: string;
      readonly tenantId: string;
      readonly clientId: string;
      readonly secretRef: SecretRef;
      readonly authorityHost: string;
    }
  /** Type 3: read the calling pod's projected service-account token, then exchange it (`planFederatedFetch`). */
  | FederatedFetchPlan;

/**
 * A type 3 (federated) fetch: the token is the calling pod's own, so the plan names the pod, its service
 * account and its token volume (docs/adr/0021-federated-identities.md).
 */
export interface FederatedFetchPlan {
  readonly kind: "federated";
  readonly resource: string;
  readonly tenantId: string;
  readonly clientId: string;
  /** `spec.adEndpoint`; `""` = the token source's default (public cloud). */
  readonly authorityHost: string;
  readonly podUid: string;
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
  readonly volume: FederatedTokenVolume;
}

/** An AzureIdentity that cannot yield a token as written (validation should have caught it; checked again here). */
export interface InvalidIdentityError {
  readonly kind: "invalidIdentity";
  readonly reason: string;
}

/**
 * The fetch plan for `identity` and `resource`. A type 0 identity is requested from IMDS by its client id
 * (as the original always did), or by its ARM id when it has no client id — and is refused when it has
 * neither, because an IMDS request without a selector would return the node's system-assigned identity.
 */
export function planTokenFetch(identity: AzureIdentity, resource: string): Result<TokenFetchPlan, InvalidIdentityError> {
  const { spec } = identity;
  if (spec.type === 0) {
    if (spec.clientID !== "") {
      return ok({ kind: "managedIdentity", request: { kind: "managedIdentity", resource, selector: { by: "client_id", value: spec.clientID } } });
    }
    if (spec.resourceID !== "") {
      return ok({ kind: "managedIdentity", request: { kind: "managedIdentity", resource, selector: { by: "msi_res_id", value: spec.resourceID } } });
    }
    return err({ kind: "invalidIdentity", reason: "user-assigned identity has neither clientID nor resourceID" });
  }
  if (spec.type === 3) {
    // Federated tokens are the calling pod's: `planFederatedFetch` plans them with the pod.
    return err({ kind: "invalidIdentity", reason: "federated identity is planned with the calling pod" });
  }
  if (spec.clientID === "" || spec.tenantID === "") {
    return err({ kind: "invalidIdentity", reason: "service principal identity needs clientID and tenantID" });
  }
  if (spec.clientPassword === undefined) {
    return err({ kind: "invalidIdentity", reason: "service principal identity needs clientPassword" });
  }
  const common = {
    resource,
    tenantId: spec.tenantID,
    clientId: spec.clientID,
    secretRef: spec.clientPassword,
    authorityHost: spec.adEndpoint,
  };
  return spec.type === 1
    ? ok({ kind: "servicePrincipalSecret", ...common, auxiliaryTenantIds: spec.auxiliaryTenantIDs })
    : ok({ kind: "servicePrincipalCertificate", ...common });
}

/** The preferred Secret key for a type 1 client secret (`--from-literal=clientSecret=…`). */
export const CLIENT_SECRET_KEY = "clientSecret";
/** Secret key holding the PKCS#12 bytes of a type 2 identity. */
export const CERTIFICATE_KEY = "certificate";
/** Secret key holding the password of the PKCS#12 file of a type 2 identity. */
export const CERTIFICATE_PASSWORD_KEY = "password";

/** The Secret referenced by an identity does not hold what its type needs. */
export interface SecretContentError {
  readonly kind: "secretInvalid";
  readonly secretRef: SecretRef;
  readonly reason: string;
}

/**
 * The token-source request for a plan, given the referenced Secret's data (for type 0, `secret` is
 * ignored). Type 1 uses key `clientSecret`, or the only key when there is exactly one; the original took
 * "the first" value of a Go map, whose order is random, so podid refuses several keys without `clientSecret`.
 * Type 2 needs `certificate` and takes `password` (UTF-8, `""` when absent).
 */
export function completeFetchPlan(plan: Exclude<TokenFetchPlan, FederatedFetchPlan>, secret: SecretData): Result<TokenSourceRequest, SecretContentError> {
  if (plan.kind === "managedIdentity") return ok(plan.request);
  const fail = (reason: string) => err<SecretContentError>({ kind: "secretInvalid", secretRef: plan.secretRef, reason });
  if (plan.kind === "servicePrincipalSecret") {
    const keys = Object.keys(secret);
    const key = keys.includes(CLIENT_SECRET_KEY) ? CLIENT_SECRET_KEY : keys.length === 1 ? keys[0] : undefined;
    const bytes = key === undefined ? undefined : secret[key];
    if (bytes === undefined) return fail(`secret needs key "${CLIENT_SECRET_KEY}" or exactly one key`);
    const value = decodeUtf8(bytes);
    if (value === undefined || value === "") return fail("client secret is empty or not UTF-8");
    return ok({
      kind: "servicePrincipalSecret",
      resource: plan.resource,
      tenantId: plan.tenantId,
      clientId: plan.clientId,
      secret: value,
      auxiliaryTenantIds: plan.auxiliaryTenantIds,
      authorityHost: plan.authorityHost,
    });
  }
  const certificate = secret[CERTIFICATE_KEY];
  if (certificate === undefined || certificate.length === 0) return fail(`secret needs key "${CERTIFICATE_KEY}"`);
  const passwordBytes = secret[CERTIFICATE_PASSWORD_KEY];
  const password = passwordBytes === undefined ? "" : decodeUtf8(passwordBytes);
  if (password === undefined) return fail("certificate password is not UTF-8");
  return ok({
    kind: "servicePrincipalCertificate",
    resource: plan.resource,
    tenantId: plan.tenantId,
    clientId: plan.clientId,
    certificate,
    password,
    authorityHost: plan.authorityHost,
  });
}
