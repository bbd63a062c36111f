import { GROUP_VERSION } from "../model/constants.js";
import type { AzureAssignedIdentity, PodView } from "../model/types.js";
import type { InvolvedObject } from "../ports/event-recorder.port.js";

/** Reasons of the Events MIC records about federated (type 3) identities (docs/adr/0021-federated-identities.md). */
export const FEDERATED_EVENT = {
  /** On a pod: a binding selects it for a type-3 identity that does not trust its service account; no object is written. */
  serviceAccountNotTrusted: "FederatedServiceAccountNotTrusted",
  /** On an AzureAssignedIdentity: its identity already holds 20 federated credentials and none trusts this subject. */
  credentialLimit: "FederatedCredentialLimit",
  /** On an AzureAssignedIdentity: MIC does not know the cluster's service-account issuer, so it writes no credential. */
  issuerUnknown: "FederatedIssuerUnknown",
} as const;

/** An AzureAssignedIdentity as the object of an Event. */
export function assignedIdentityObject(aai: AzureAssignedIdentity): InvolvedObject {
  return {
    kind: "AzureAssignedIdentity",
    apiVersion: GROUP_VERSION,
    namespace: aai.metadata.namespace,
    name: aai.metadata.name,
    ...(aai.metadata.uid === undefined ? {} : { uid: aai.metadata.uid }),
  };
}

/** A pod as the object of an Event. */
export function podObject(pod: PodView): InvolvedObject {
  return {
    kind: "Pod",
    apiVersion: "v1",
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    ...(pod.metadata.uid === undefined ? {} : { uid: pod.metadata.uid }),
  };
}
