import {
  BINDING_LABEL,
  type AzureIdentity,
  type AzureIdentityBinding,
  type NodeView,
  type PodView,
} from "@podid/core";

/** Shape of a generated large cluster. */
export interface ScaleClusterOptions {
  readonly pods: number;
  readonly nodes: number;
  /** Nodes per scale set; 0 makes every node a standalone VM. */
  readonly nodesPerScaleSet: number;
  readonly identities: number;
  /** Namespaces identities, bindings and pods are spread over (one identity + binding per slot). */
  readonly namespaces: number;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
}

/** A deterministic large cluster for benchmarks and simulations. */
export interface ScaleCluster {
  readonly nodes: readonly NodeView[];
  readonly pods: readonly PodView[];
  readonly identities: readonly AzureIdentity[];
  readonly bindings: readonly AzureIdentityBinding[];
}

const meta = (name: string, namespace: string, labels: Record<string, string> = {}) => ({
  name,
  namespace,
  uid: `uid-${namespace}-${name}`,
  resourceVersion: "1",
  labels,
  annotations: {},
  finalizers: [],
});

/**
 * Builds `options.identities` type-0 identities each with one binding (selector `sel-<i>`), spread over
 * namespaces; nodes in scale sets of `nodesPerScaleSet` (AKS naming) or standalone VMs; and pods
 * round-robin over nodes and selectors, each in its binding's namespace. Same options, same cluster.
 */
export function buildScaleCluster(options: ScaleClusterOptions): ScaleCluster {
  const subscription = options.subscriptionId ?? "00000000-0000-4000-8000-000000000001";
  const group = options.resourceGroup ?? "MC_rg_cluster_westeurope";
  const nodes: NodeView[] = Array.from({ length: options.nodes }, (_, n) => {
    if (options.nodesPerScaleSet > 0) {
      const scaleSet = `aks-pool${Math.floor(n / options.nodesPerScaleSet)}-12345678-vmss`;
      const instance = n % options.nodesPerScaleSet;
      const name = `${scaleSet}${instance.toString(36).padStart(6, "0")}`;
      return {
        kind: "Node",
        metadata: meta(name, ""),
        providerID: `azure:///subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}/virtualMachines/${instance}`,
      };
    }
    const name = `aks-vm-${n}`;
    return {
      kind: "Node",
      metadata: meta(name, ""),
      providerID: `azure:///subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${name}`,
    };
  });
  const namespaceOf = (i: number) => `ns-${i % Math.max(1, options.namespaces)}`;
  const identities: AzureIdentity[] = Array.from({ length: options.identities }, (_, i) => ({
    kind: "AzureIdentity",
    metadata: meta(`identity-${i}`, namespaceOf(i)),
    spec: {
      type: 0,
      resourceID: `/subscriptions/${subscription}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/identity-${i}`,
      clientID: `00000000-0000-4000-9000-${i.toString(16).padStart(12, "0")}`,
      tenantID: "",
      auxiliaryTenantIDs: [],
      adEndpoint: "",
      adResourceID: "",
      serviceAccounts: [],
    },
  }));
  const bindings: AzureIdentityBinding[] = identities.map((identity, i) => ({
    kind: "AzureIdentityBinding",
    metadata: meta(`binding-${i}`, identity.metadata.namespace),
    spec: { azureIdentity: identity.metadata.name, selector: `sel-${i}` },
  }));
  const pods: PodView[] = Array.from({ length: options.pods }, (_, p) => {
    const slot = p % Math.max(1, options.identities);
    const node = nodes[p % Math.max(1, nodes.length)];
    const ip = `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255}`;
    return {
      kind: "Pod",
      metadata: meta(`pod-${p}`, namespaceOf(slot), { [BINDING_LABEL]: `sel-${slot}` }),
      nodeName: node?.metadata.name ?? "",
      serviceAccountName: "default",
      hostNetwork: false,
      phase: "Running",
      podIP: ip,
      podIPs: [ip],
    };
  });
  return { nodes, pods, identities, bindings };
}
