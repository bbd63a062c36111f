import { fnv1a64Hex } from "./fnv1a64.js";
import { parseServiceAccountSubject } from "./service-account-subject.js";

/** Entra ID's rule for federated identity credential names. */
export const FEDERATED_CREDENTIAL_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/;

const NAME_PREFIX = "podid-";
/** Readable part kept from `<ns>-<sa>`: prefix 6 + 90 + `-` + 16 hex digits stays well inside the 120 allowed. */
const MAX_READABLE_LENGTH = 90;

/**
 * The name podid gives the federated identity credential for `issuer` + `subject` (docs/adr/0021-federated-identities.md):
 * `podid-` + up to 90 characters of `<ns>-<sa>` (the whole subject when it is not a service account's; characters
 * outside the name alphabet become `-`) + `-` + the 64-bit FNV-1a hash of `issuer + "\n" + subject` in hex. The hash
 * makes the name a function of exactly what the credential trusts, which is how ownership is recognised; the name
 * always satisfies {@link FEDERATED_CREDENTIAL_NAME_PATTERN}.
 */
export function federatedCredentialName(issuer: string, subject: string): string {
  const account = parseServiceAccountSubject(subject);
  const readable = (account === undefined ? subject : `${account.namespace}-${account.serviceAccount}`)
    .replace(/[^a-zA-Z0-9_-]/g, "-")
    .slice(0, MAX_READABLE_LENGTH);
  return `${NAME_PREFIX}${readable}-${fnv1a64Hex(`${issuer}\n${subject}`)}`;
}
