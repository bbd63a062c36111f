/** The API group of every podid / aad-pod-identity custom resource. */
export const API_GROUP = "aadpodidentity.k8s.io";
/** The only served and stored version of the custom resources. */
export const API_VERSION = "v1";
/** `apiVersion` as written in manifests. */
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** The pod label whose value must equal a binding's `selector`. */
export const BINDING_LABEL = "aadpodidbinding";
/** The label MIC puts on every AzureAssignedIdentity naming the pod's node (NMI watches by it). */
export const NODENAME_LABEL = "nodename";
/** Per-identity annotation; the value `namespaced` turns on namespaced matching for that identity. */
export const BEHAVIOR_ANNOTATION = "aadpodidentity.k8s.io/Behavior";
/** The value of {@link BEHAVIOR_ANNOTATION} that requests namespaced matching. */
export const BEHAVIOR_NAMESPACED = "namespaced";
/** Finalizer MIC adds to each AzureAssignedIdentity so namespace deletion waits for the ARM removal. */
export const ASSIGNED_IDENTITY_FINALIZER = "azureassignedidentity.finalizers.aadpodidentity.k8s.io";
/** Namespace of AzureAssignedIdentities when matching is not namespaced (the original's back-compat choice). */
export const DEFAULT_ASSIGNED_IDENTITY_NAMESPACE = "default";

/** Kinds of the four custom resources. */
export const KIND = {
  AzureIdentity: "AzureIdentity",
  AzureIdentityBinding: "AzureIdentityBinding",
  AzureAssignedIdentity: "AzureAssignedIdentity",
  AzurePodIdentityException: "AzurePodIdentityException",
} as const;

/** Plural resource names of the four custom resources. */
export const PLURAL = {
  AzureIdentity: "azureidentities",
  AzureIdentityBinding: "azureidentitybindings",
  AzureAssignedIdentity: "azureassignedidentities",
  AzurePodIdentityException: "azurepodidentityexceptions",
} as const;
