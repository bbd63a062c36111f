import { isServiceAccountTrusted } from "../federated/service-account-trust.js";
import type { AzureIdentity, PodView } from "../model/types.js";
import type { ServiceAccountTokenRequest } from "../ports/service-account-token-reader.port.js";
import type { TokenSourceRequest } from "../ports/token-source.port.js";
import { err, ok, type Result } from "../result.js";
import type { FederatedFetchPlan, InvalidIdentityError } from "./fetch-plan.js";

/**
 * NMI's side of federated identities (type 3): whether the calling pod may use one, and what to fetch with its
 * own service-account token (docs/adr/0021-federated-identities.md, "NMI: exchange the calling pod's own token").
 * @packageDocumentation
 */

/** Why a pod is refused a federated identity it is otherwise granted (403). */
export type FederatedRefusal =
  /** The identity does not list the pod's service account, or the pod is not in the identity's namespace. */
  | "serviceAccountNotTrusted"
  /** The pod declares no projected service-account token with audience `api://AzureADTokenExchange`. */
  | "federatedTokenVolumeMissing";

/** A federated identity refused to this pod. */
export interface FederatedRefusalError {
  readonly kind: "federatedRefused";
  readonly reason: FederatedRefusal;
}

/**
 * The fetch plan of federated `identity` for `pod` and `resource`, checked in this order: the identity names a
 * client and a tenant (else `invalidIdentity`), the pod's service account is trusted by the identity
 * (`isServiceAccountTrusted`: listed, same namespace), and the pod declares a federated token volume.
 */
export function planFederatedFetch(
  identity: AzureIdentity,
  pod: PodView,
  resource: string,
): Result<FederatedFetchPlan, FederatedRefusalError | InvalidIdentityError> {
  const { spec } = identity;
  if (spec.clientID === "" || spec.tenantID === "") {
    return err({ kind: "invalidIdentity", reason: "federated identity needs clientID and tenantID" });
  }
  if (!isServiceAccountTrusted(pod, identity)) return err({ kind: "federatedRefused", reason: "serviceAccountNotTrusted" });
  const volume = pod.federatedTokenVolume;
  if (volume === undefined) return err({ kind: "federatedRefused", reason: "federatedTokenVolumeMissing" });
  return ok({
    kind: "federated",
    resource,
    tenantId: spec.tenantID,
    clientId: spec.clientID,
    authorityHost: spec.adEndpoint,
    podUid: pod.metadata.uid ?? "",
    // As the trust rule reads it: a pod that names no service account runs as `default`.
    serviceAccount: { namespace: pod.metadata.namespace, name: pod.serviceAccountName === "" ? "default" : pod.serviceAccountName },
    volume,
  });
}

/** What the service-account token reader must read for `plan`, and whose token it must be. */
export function serviceAccountTokenRequestOf(plan: FederatedFetchPlan): ServiceAccountTokenRequest {
  return {
    podUid: plan.podUid,
    namespace: plan.serviceAccount.namespace,
    serviceAccountName: plan.serviceAccount.name,
    volume: plan.volume,
  };
}

/** The token-source request for `plan` once the pod's token (`assertion`) was read and checked. */
export function completeFederatedPlan(plan: FederatedFetchPlan, assertion: string): Extract<TokenSourceRequest, { readonly kind: "federated" }> {
  return {
    kind: "federated",
    resource: plan.resource,
    tenantId: plan.tenantId,
    clientId: plan.clientId,
    authorityHost: plan.authorityHost,
    assertion,
  };
}

/**
 * The token-cache identity key of a federated fetch: the identity's key plus the pod's namespace and service
 * account. Entra ID issues the token to whichever service account's token was presented, and only when a
 * federated credential trusts it, so pods of two service accounts never share a token — one of them may be
 * trusted by the identity's credentials and the other not (yet). The parts are length-prefixed so no choice
 * of names makes two keys alike.
 */
export function federatedCacheIdentityKey(identityKey: string, serviceAccount: { readonly namespace: string; readonly name: string }): string {
  const { namespace, name } = serviceAccount;
  return `${identityKey.length}:${identityKey}|sa:${namespace.length}:${namespace}/${name}`;
}

/** The human description of a {@link FederatedRefusal} for `identity` (the 403 body names the reason). */
export function federatedRefusalDescription(reason: FederatedRefusal, identity: { readonly namespace: string; readonly name: string }, pod: { readonly namespace: string; readonly name: string }): string {
  const id = `${identity.namespace}/${identity.name}`;
  switch (reason) {
    case "serviceAccountNotTrusted":
      return `serviceAccountNotTrusted: federated identity ${id} does not trust the service account of pod ${pod.namespace}/${pod.name} (spec.serviceAccounts, same namespace)`;
    case "federatedTokenVolumeMissing":
      return `federatedTokenVolumeMissing: pod ${pod.namespace}/${pod.name} has no projected serviceAccountToken volume with audience api://AzureADTokenExchange, which federated identity ${id} needs`;
  }
}
