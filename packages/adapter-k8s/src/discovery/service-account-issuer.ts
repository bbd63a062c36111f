import type { KubeClient } from "../client/kube-client.js";

/** The path where kube-apiserver serves its service-account issuer's OIDC discovery document. */
export const OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration";

/**
 * Reads the cluster's service-account issuer (the `iss` of the tokens it signs) from kube-apiserver's OIDC
 * discovery document, through `client` (its rate limit and credentials). Needs `get` on the non-resource URL
 * `/.well-known/openid-configuration` (the built-in `system:service-account-issuer-discovery` role; podid's MIC
 * ClusterRole grants it too). Resolves `undefined` when the document names no issuer; rejects when the request
 * fails (the caller logs it and asks again later). Used by MIC for federated identities
 * (docs/adr/0021-federated-identities.md).
 */
export async function readServiceAccountIssuer(client: KubeClient): Promise<string | undefined> {
  const document = await client.request({ method: "GET", path: OPENID_CONFIGURATION_PATH });
  if (typeof document !== "object" || document === null) return undefined;
  const issuer = (document as { issuer?: unknown }).issuer;
  return typeof issuer === "string" && issuer !== "" ? issuer : undefined;
}
