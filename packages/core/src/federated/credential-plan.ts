import type { FederatedCredential } from "../ports/federated-credential.port.js";
import { federatedCredentialName } from "./credential-name.js";
import { isPodidOwnedCredential } from "./ownership.js";
import { FEDERATED_TOKEN_AUDIENCE, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY } from "./service-account-subject.js";

/** What one identity needs and holds. */
export interface IdentityCredentialInput {
  /** The cluster's service-account issuer (exact, case-sensitive). */
  readonly issuer: string;
  /** Subjects some Created/Assigned AzureAssignedIdentity of this identity needs (duplicates are ignored). */
  readonly neededSubjects: readonly string[];
  /** The credentials the identity holds now, as listed. */
  readonly existing: readonly FederatedCredential[];
  /** Entra ID's cap (default {@link MAX_FEDERATED_CREDENTIALS_PER_IDENTITY}). */
  readonly maxCredentials?: number;
}

/** A needed subject an existing credential (ours or anyone's) already trusts. */
export interface ReusedCredential {
  readonly subject: string;
  readonly credential: FederatedCredential;
}

/** The writes one identity needs, in the order to send them: deletes first (they free room under the cap). */
export interface IdentityCredentialPlan {
  /** Credentials to create, one per needed subject nothing trusts yet, as long as the cap allows. */
  readonly creates: readonly FederatedCredential[];
  /** Our own credentials (see `isPodidOwnedCredential`) that no needed subject uses. */
  readonly deletes: readonly FederatedCredential[];
  /** Needed subjects already trusted by an existing credential with this issuer, whatever its name. */
  readonly reused: readonly ReusedCredential[];
  /** Needed subjects left without a credential because the identity is at the cap. */
  readonly refused: readonly string[];
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Plans the credentials of one identity (docs/adr/0021-federated-identities.md): reuse any existing credential with
 * this issuer and a needed subject, delete our own credentials nobody needs, create the rest — but never more than
 * the identity can hold: when the cap is reached the remaining subjects are refused rather than sent to fail.
 * Credentials someone else created are never deleted. Subjects are handled in sorted order, so the result is
 * deterministic and the same subjects are refused on every pass.
 */
export function planIdentityCredentials(input: IdentityCredentialInput): IdentityCredentialPlan {
  const cap = input.maxCredentials ?? MAX_FEDERATED_CREDENTIALS_PER_IDENTITY;
  const needed = [...new Set(input.neededSubjects)].sort(byText);
  const neededSet = new Set(needed);
  const trusting = new Map<string, FederatedCredential>();
  for (const credential of input.existing) {
    if (credential.issuer === input.issuer && neededSet.has(credential.subject) && !trusting.has(credential.subject)) {
      trusting.set(credential.subject, credential);
    }
  }
  const deletes = input.existing.filter(
    (credential) => isPodidOwnedCredential(credential, input.issuer) && trusting.get(credential.subject) !== credential,
  );
  const reused: ReusedCredential[] = [];
  const creates: FederatedCredential[] = [];
  const refused: string[] = [];
  let held = input.existing.length - deletes.length;
  for (const subject of needed) {
    const credential = trusting.get(subject);
    if (credential !== undefined) {
      reused.push({ subject, credential });
      continue;
    }
    if (held >= cap) {
      refused.push(subject);
      continue;
    }
    held++;
    creates.push({
      name: federatedCredentialName(input.issuer, subject),
      issuer: input.issuer,
      subject,
      audiences: [FEDERATED_TOKEN_AUDIENCE],
    });
  }
  return { creates, deletes: [...deletes].sort((a, b) => byText(a.name, b.name)), reused, refused };
}

/** One identity's part of {@link planFederatedCredentials}. */
export interface FederatedCredentialsInput {
  readonly issuer: string;
  /** Needed subjects by identity key. */
  readonly needed: ReadonlyMap<string, readonly string[]>;
  /** Listed credentials by identity key; identities missing here are planned as holding none. */
  readonly existing: ReadonlyMap<string, readonly FederatedCredential[]>;
  readonly maxCredentials?: number;
}

/**
 * {@link planIdentityCredentials} for every identity named in `needed` or `existing` (an identity nobody needs any
 * more gets its own credentials deleted), keyed like the input.
 */
export function planFederatedCredentials(input: FederatedCredentialsInput): ReadonlyMap<string, IdentityCredentialPlan> {
  const keys = [...new Set([...input.needed.keys(), ...input.existing.keys()])].sort(byText);
  return new Map(
    keys.map((key) => [
      key,
      planIdentityCredentials({
        issuer: input.issuer,
        neededSubjects: input.needed.get(key) ?? [],
        existing: input.existing.get(key) ?? [],
        ...(input.maxCredentials === undefined ? {} : { maxCredentials: input.maxCredentials }),
      }),
    ]),
  );
}
