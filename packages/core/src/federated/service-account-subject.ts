/**
 * Subjects and fixed values of Kubernetes service-account tokens as Entra ID's workload identity federation sees
 * them (docs/adr/0021-federated-identities.md).
 */

/** The audience Entra ID expects in a token it exchanges, and the one podid writes into every federated credential. */
export const FEDERATED_TOKEN_AUDIENCE = "api://AzureADTokenExchange";

/** Entra ID keeps at most this many federated identity credentials on one user-assigned identity. */
export const MAX_FEDERATED_CREDENTIALS_PER_IDENTITY = 20;

const SUBJECT_PREFIX = "system:serviceaccount:";

/** The `sub` claim of a token of service account `serviceAccount` in `namespace`: `system:serviceaccount:<ns>:<sa>`. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `${SUBJECT_PREFIX}${namespace}:${serviceAccount}`;
}

/** The namespace and name a service-account subject names; `undefined` for any other subject. */
export function parseServiceAccountSubject(subject: string): { readonly namespace: string; readonly serviceAccount: string } | undefined {
  if (!subject.startsWith(SUBJECT_PREFIX)) return undefined;
  const rest = subject.slice(SUBJECT_PREFIX.length);
  const colon = rest.indexOf(":");
  if (colon <= 0 || colon === rest.length - 1 || rest.indexOf(":", colon + 1) !== -1) return undefined;
  return { namespace: rest.slice(0, colon), serviceAccount: rest.slice(colon + 1) };
}
