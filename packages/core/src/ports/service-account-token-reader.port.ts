import type { FederatedTokenVolume } from "../nmi/federated-token-volume.js";
import type { Result } from "../result.js";

/**
 * Reads the calling pod's own projected service-account token, which kubelet wrote for it on this node, for
 * the federated exchange (type 3; docs/adr/0021-federated-identities.md). adapter-k8s reads kubelet's pods
 * directory; fakes in tests.
 * @packageDocumentation
 */

/** Whose token it must be: the reader refuses a token of any other pod or service account. */
export interface ServiceAccountTokenExpectation {
  readonly podUid: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
}

/** What to read: the pod's federated token volume, and whose token it must be. */
export interface ServiceAccountTokenRequest extends ServiceAccountTokenExpectation {
  readonly volume: FederatedTokenVolume;
}

/** A token that passed the claim checks (`checkServiceAccountTokenClaims`). */
export interface ServiceAccountToken {
  /** The JWT as kubelet wrote it (whitespace around it removed). */
  readonly token: string;
  /** Its `exp`, in Unix milliseconds. */
  readonly expiresAtMs: number;
}

/** Why no token could be used; NMI answers 503 for all but `mismatch` (403). */
export type ServiceAccountTokenError =
  /** No file (kubelet may not have written it yet). */
  | { readonly kind: "missing"; readonly reason: string }
  /** The file exists but could not be read or decoded, is too large, or its location is unsafe. */
  | { readonly kind: "unreadable"; readonly reason: string }
  /** The token is not the calling pod's (`claim` names the first claim that differs). */
  | { readonly kind: "mismatch"; readonly claim: "sub" | "podUid" | "aud" | "exp"; readonly reason: string }
  /** The token expired (kubelet stopped refreshing it). */
  | { readonly kind: "expired"; readonly expiresAtMs: number };

/** Reads a pod's projected service-account token. */
export interface ServiceAccountTokenReaderPort {
  read(request: ServiceAccountTokenRequest): Promise<Result<ServiceAccountToken, ServiceAccountTokenError>>;
}
