/**
 * Small value pools shared by the arbitraries. They are deliberately tiny so that generated objects
 * collide: two identities end up with the same ARM id, pods really carry the selectors bindings use,
 * identity names repeat across namespaces (the AAI name collision of the original's #1065), and so on.
 */

/** Subscription ids used in every generated ARM id. */
export const SUBSCRIPTION_POOL = [
  "11111111-2222-3333-4444-555555555555",
  "c0ffee00-0000-4000-8000-00000000beef",
] as const;

/** Node resource groups (AKS `MC_…` style and a hand-made one). */
export const NODE_RESOURCE_GROUP_POOL = ["MC_rg-aks_aks-cluster_westeurope", "rg-k8s-nodes"] as const;

/** One user-assigned managed identity: where it lives and its (stable) client id. */
export interface UserAssignedIdentityFixture {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly clientID: string;
}

/**
 * The user-assigned identities that exist in the generated "Azure". Each has a fixed client id, so two
 * AzureIdentities pointing at the same ARM id also agree on the client id, as they would in reality.
 */
export const USER_ASSIGNED_IDENTITY_POOL: readonly UserAssignedIdentityFixture[] = [
  {
    subscriptionId: "11111111-2222-3333-4444-555555555555",
    resourceGroup: "rg-identities",
    name: "id-frontend",
    clientID: "00000000-aaaa-4000-8000-000000000001",
  },
  {
    subscriptionId: "11111111-2222-3333-4444-555555555555",
    resourceGroup: "rg-identities",
    name: "id-backend",
    clientID: "00000000-aaaa-4000-8000-000000000002",
  },
  {
    subscriptionId: "11111111-2222-3333-4444-555555555555",
    resourceGroup: "RG-Shared",
    name: "KeyVaultReader",
    clientID: "00000000-aaaa-4000-8000-000000000003",
  },
  {
    subscriptionId: "c0ffee00-0000-4000-8000-00000000beef",
    resourceGroup: "MC_rg-aks_aks-cluster_westeurope",
    name: "aks-cluster-agentpool",
    clientID: "00000000-aaaa-4000-8000-000000000004",
  },
];

/** Client ids of service principals (identity types 1 and 2). */
export const SERVICE_PRINCIPAL_CLIENT_ID_POOL = [
  "00000000-bbbb-4000-8000-000000000001",
  "00000000-bbbb-4000-8000-000000000002",
] as const;

/** Tenant ids (primary and auxiliary). */
export const TENANT_POOL = [
  "72f988bf-86f1-41af-91ab-2d7cd011db47",
  "00000000-cccc-4000-8000-000000000002",
  "00000000-cccc-4000-8000-000000000003",
] as const;

/** Namespaces; more than one so that namespaced matching and cross-namespace bindings both matter. */
export const NAMESPACE_POOL = ["default", "team-a", "team-b"] as const;

/** AzureIdentity object names (repeat across namespaces on purpose). */
export const IDENTITY_NAME_POOL = ["frontend-id", "backend-id", "reader", "writer"] as const;

/** Values of the `aadpodidbinding` label / binding selectors. */
export const SELECTOR_POOL = ["frontend", "backend", "reader", "batch"] as const;

/** Names of Secrets referenced by service-principal identities. */
export const SECRET_NAME_POOL = ["sp-secret", "sp-cert"] as const;

/** AAD authority hosts (`""` = public cloud default). */
export const AD_ENDPOINT_POOL = ["", "https://login.microsoftonline.com/", "https://login.chinacloudapi.cn/"] as const;

/** Names of AKS node pools, used to build VMSS and VM node names. */
export const NODE_POOL_NAME_POOL = ["nodepool1", "system", "gpu"] as const;

/** Eight-digit AKS cluster hashes that appear in node names. */
export const NODE_POOL_HASH_POOL = ["12345678", "87654321"] as const;

/** Label keys/values used on pods and in AzurePodIdentityExceptions (so exceptions really match pods). */
export const POD_LABEL_POOL: readonly (readonly [string, string])[] = [
  ["app", "frontend"],
  ["app", "backend"],
  ["app", "MIC"],
  ["component", "kube-proxy"],
  ["tier", "web"],
];

/** Service accounts pods run as. */
export const SERVICE_ACCOUNT_POOL = ["default", "builder", "app-sa"] as const;
