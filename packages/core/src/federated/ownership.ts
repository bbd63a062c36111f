import type { FederatedCredential } from "../ports/federated-credential.port.js";
import { federatedCredentialName } from "./credential-name.js";

/**
 * True when podid may delete `credential`: its name is the one podid computes from its own issuer and subject, and
 * that issuer is this cluster's (docs/adr/0021-federated-identities.md). A credential someone else created, or one
 * another cluster's podid wrote for its own issuer, is never ours.
 */
export function isPodidOwnedCredential(credential: FederatedCredential, clusterIssuer: string): boolean {
  return credential.issuer === clusterIssuer && credential.name === federatedCredentialName(credential.issuer, credential.subject);
}
