/**
 * The JSON shapes the serialisers write: what the API server stores for each kind, camelCase only.
 */
import type { GROUP_VERSION } from "./constants.js";
import type { AssignedIdentityWireStatus, IdentityType, PodPhase } from "./types.js";

/** `metadata` on the wire; empty maps, lists and optional strings are omitted, as the API server does. */
export interface WireObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly finalizers?: string[];
}

/** `apiVersion` of the four custom resources. */
export type WireGroupVersion = typeof GROUP_VERSION;

/** A wire `AzureIdentity`. Every spec field is written, as the original's Go types (no `omitempty`) do. */
export interface WireAzureIdentity {
  readonly apiVersion: WireGroupVersion;
  readonly kind: "AzureIdentity";
  readonly metadata: WireObjectMeta;
  readonly spec: {
    readonly type: IdentityType;
    readonly resourceID: string;
    readonly clientID: string;
    /** `{}` when unset, as Go writes the zero `SecretReference`. */
    readonly clientPassword: { readonly name?: string; readonly namespace?: string };
    readonly tenantID: string;
    readonly auxiliaryTenantIDs: string[];
    readonly adEndpoint: string;
    readonly adResourceID: string;
    /** Not in the original's types: written only when non-empty, so type 0–2 objects keep the original's shape. */
    readonly serviceAccounts?: string[];
  };
}

/** A wire `AzureIdentityBinding`. */
export interface WireAzureIdentityBinding {
  readonly apiVersion: WireGroupVersion;
  readonly kind: "AzureIdentityBinding";
  readonly metadata: WireObjectMeta;
  readonly spec: { readonly azureIdentity: string; readonly selector: string; readonly weight?: number };
}

/** A wire `AzurePodIdentityException`. */
export interface WireAzurePodIdentityException {
  readonly apiVersion: WireGroupVersion;
  readonly kind: "AzurePodIdentityException";
  readonly metadata: WireObjectMeta;
  readonly spec: { readonly podLabels: Record<string, string> };
}

/** A wire `AzureAssignedIdentity` in the original MIC's format. */
export interface WireAzureAssignedIdentity {
  readonly apiVersion: WireGroupVersion;
  readonly kind: "AzureAssignedIdentity";
  readonly metadata: WireObjectMeta;
  readonly spec: {
    readonly azureIdentityRef: WireAzureIdentity;
    readonly azureBindingRef: WireAzureIdentityBinding;
    readonly pod: string;
    readonly podNamespace: string;
    /** Lower-case `nodename`: the original's v1 JSON tag. */
    readonly nodename: string;
  };
  readonly status: { readonly status: AssignedIdentityWireStatus; readonly availableReplicas: 1 };
}

/** A wire Pod, reduced to the fields podid reads. */
export interface WirePod {
  readonly apiVersion: "v1";
  readonly kind: "Pod";
  readonly metadata: WireObjectMeta;
  readonly spec: { readonly nodeName?: string; readonly serviceAccountName: string; readonly hostNetwork?: boolean };
  readonly status: { readonly phase: PodPhase; readonly podIP?: string; readonly podIPs?: { readonly ip: string }[] };
}

/** A wire Node, reduced to the fields podid reads. */
export interface WireNode {
  readonly apiVersion: "v1";
  readonly kind: "Node";
  readonly metadata: WireObjectMeta;
  readonly spec: { readonly providerID?: string };
}
