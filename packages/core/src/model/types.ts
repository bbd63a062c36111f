/**
 * Typed views of the Kubernetes objects podid reasons about. They stay close to the wire shape
 * (`metadata` + `spec` + `status`) so that parse → serialise → parse is the identity, and they carry
 * only what the rules need; the parsers in this folder build them from raw API JSON.
 */

import type { FederatedTokenVolume } from "../nmi/federated-token-volume.js";
import type { KeyVaultVolume } from "../nmi/key-vault-volumes.js";

/** The subset of Kubernetes `ObjectMeta` that podid reads or writes. */
export interface ObjectMeta {
  readonly name: string;
  /** Namespace; `""` for cluster-scoped objects (nodes). */
  readonly namespace: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  /** RFC 3339 timestamp as sent by the API server. */
  readonly creationTimestamp?: string;
  /** Set when deletion has been requested (finalizers may still hold the object). */
  readonly deletionTimestamp?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly finalizers: readonly string[];
}

/**
 * AzureIdentity `spec.type`: 0 user-assigned MSI, 1 service principal (secret), 2 service principal (certificate),
 * 3 federated (a user-assigned identity reached through its federated identity credentials, never attached to a
 * VM: docs/adr/0021-federated-identities.md).
 */
export type IdentityType = 0 | 1 | 2 | 3;

/** Named values of {@link IdentityType}. */
export const IdentityType = {
  UserAssignedMSI: 0,
  ServicePrincipal: 1,
  ServicePrincipalCertificate: 2,
  Federated: 3,
} as const satisfies Record<string, IdentityType>;

/** A reference to a Secret (AzureIdentity `spec.clientPassword`). */
export interface SecretRef {
  readonly name: string;
  readonly namespace: string;
}

/** `AzureIdentity.spec`, with legacy PascalCase fields already folded into camelCase. */
export interface AzureIdentitySpec {
  readonly type: IdentityType;
  /** ARM id of the user-assigned identity as written (required for types 0 and 3; `""` when absent). */
  readonly resourceID: string;
  /** Client (application) id as written. */
  readonly clientID: string;
  /** Tenant for types 1, 2 and 3 (`""` when absent). */
  readonly tenantID: string;
  /** Secret holding the client secret (type 1) or certificate and password (type 2). */
  readonly clientPassword?: SecretRef;
  /** Type 1 only: extra tenants for which tokens are also issued. */
  readonly auxiliaryTenantIDs: readonly string[];
  /** AAD authority host for types 1 and 2 (`""` = public cloud default). */
  readonly adEndpoint: string;
  /** Declared by the original and never used; kept so round trips do not lose it. */
  readonly adResourceID: string;
  /**
   * Type 3: names of the service accounts, in the identity's own namespace, whose pods may use it (non-empty,
   * DNS-1123 subdomains). Other types keep whatever was written (usually `[]`); only type 3 reads it.
   */
  readonly serviceAccounts: readonly string[];
}

/** An `AzureIdentity` custom resource. */
export interface AzureIdentity {
  readonly kind: "AzureIdentity";
  readonly metadata: ObjectMeta;
  readonly spec: AzureIdentitySpec;
}

/** `AzureIdentityBinding.spec`. */
export interface AzureIdentityBindingSpec {
  /** Name of an AzureIdentity in the binding's own namespace. */
  readonly azureIdentity: string;
  /** Plain string compared exactly with the pod label `aadpodidbinding`. */
  readonly selector: string;
  /** Declared by the original and never read; kept for round trips. */
  readonly weight?: number;
}

/** An `AzureIdentityBinding` custom resource. */
export interface AzureIdentityBinding {
  readonly kind: "AzureIdentityBinding";
  readonly metadata: ObjectMeta;
  readonly spec: AzureIdentityBindingSpec;
}

/** Lifecycle states of an AzureAssignedIdentity. */
export type AssignedIdentityState = "Created" | "Assigned" | "Unassigned";

/** `status.status` on the wire: a state, or `""` for objects written by pre-1.5 MIC (treated as Assigned). */
export type AssignedIdentityWireStatus = AssignedIdentityState | "";

/** `AzureAssignedIdentity.spec`. */
export interface AzureAssignedIdentitySpec {
  /** Embedded copy of the AzureIdentity (wire: `azureIdentityRef`). */
  readonly azureIdentityRef: AzureIdentity;
  /** Embedded copy of the AzureIdentityBinding (wire: `azureBindingRef`). */
  readonly azureBindingRef: AzureIdentityBinding;
  readonly pod: string;
  readonly podNamespace: string;
  /** The node the pod runs on (wire: `nodename`). */
  readonly nodeName: string;
}

/** An `AzureAssignedIdentity` custom resource: one allowed (pod, identity) pair. */
export interface AzureAssignedIdentity {
  readonly kind: "AzureAssignedIdentity";
  readonly metadata: ObjectMeta;
  readonly spec: AzureAssignedIdentitySpec;
  readonly status: AssignedIdentityWireStatus;
}

/** An `AzurePodIdentityException` custom resource. */
export interface AzurePodIdentityException {
  readonly kind: "AzurePodIdentityException";
  readonly metadata: ObjectMeta;
  readonly spec: { readonly podLabels: Readonly<Record<string, string>> };
}

/** Pod phases as reported by the kubelet. */
export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

/** What podid needs to know about a pod. */
export interface PodView {
  readonly kind: "Pod";
  readonly metadata: ObjectMeta;
  /** `spec.nodeName`; `""` while unscheduled. */
  readonly nodeName: string;
  readonly serviceAccountName: string;
  readonly hostNetwork: boolean;
  readonly phase: PodPhase;
  /** `status.podIP`; `""` when none is allocated yet. */
  readonly podIP: string;
  /** `status.podIPs[].ip` (dual-stack); includes `podIP` when set. */
  readonly podIPs: readonly string[];
  /**
   * The pod's Key Vault volumes (`summariseKeyVaultVolumes` of `spec.volumes`), filled in only by readers that
   * decode them (NMI's pod informer, for the scoped `/host/token`); absent means none or not decoded.
   */
  readonly keyVaultVolumes?: readonly KeyVaultVolume[];
  /**
   * The pod's projected service-account token with audience `api://AzureADTokenExchange`
   * (`summariseFederatedTokenVolume` of `spec.volumes`), filled in only by readers that decode it (NMI's pod
   * informer, for federated identities); absent means none or not decoded.
   */
  readonly federatedTokenVolume?: FederatedTokenVolume;
}

/** What podid needs to know about a node. */
export interface NodeView {
  readonly kind: "Node";
  readonly metadata: ObjectMeta;
  /** `spec.providerID`, e.g. `azure:///subscriptions/…/virtualMachines/<name>`; `""` when unset. */
  readonly providerID: string;
}
