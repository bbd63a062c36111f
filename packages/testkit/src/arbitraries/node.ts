import fc from "fast-check";
import type { NodeView, ObjectMeta } from "@podid/core";
import { aksVmssNodeName, caseVariantArb, vmProviderId, vmssProviderId } from "./azure-ids.js";
import { plainRecord, timestampArb } from "./object-meta.js";
import { NODE_POOL_HASH_POOL, NODE_POOL_NAME_POOL, NODE_RESOURCE_GROUP_POOL, SUBSCRIPTION_POOL } from "./pools.js";

/** Options of {@link nodeArb}. */
export interface NodeArbOptions {
  /** Which kinds of node to generate (default both). */
  readonly kinds?: readonly ("vm" | "vmss")[];
  /** Whether a node may lack `spec.providerID` (cloud provider not initialised yet); default false. */
  readonly allowMissingProviderId?: boolean;
}

/** Where a generated node pool lives. */
interface PoolPlacement {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly pool: string;
  readonly hash: string;
}

const placementArb: fc.Arbitrary<PoolPlacement> = plainRecord({
  subscriptionId: fc.constantFrom(...SUBSCRIPTION_POOL),
  resourceGroup: fc.constantFrom(...NODE_RESOURCE_GROUP_POOL),
  pool: fc.constantFrom(...NODE_POOL_NAME_POOL),
  hash: fc.constantFrom(...NODE_POOL_HASH_POOL),
});

/** Node metadata: cluster-scoped (namespace `""`), with the AKS agent-pool label. */
function nodeMeta(name: string, pool: string, uid: string, resourceVersion: string, created: string): ObjectMeta {
  return {
    name,
    namespace: "",
    uid,
    resourceVersion,
    creationTimestamp: created,
    labels: { "kubernetes.azure.com/agentpool": pool, "kubernetes.io/hostname": name },
    annotations: {},
    finalizers: [],
  };
}

const metaBitsArb = plainRecord({ uid: fc.uuid(), resourceVersion: fc.nat(9_999_999).map(String), created: timestampArb });

/** A standalone-VM node of `placement` number `index` (`aks-<pool>-<hash>-<index>`); the VM is named like the node. */
export function vmNodeArb(placement: PoolPlacement, index: number): fc.Arbitrary<NodeView> {
  const name = `aks-${placement.pool}-${placement.hash}-${index}`;
  return fc.tuple(metaBitsArb, caseVariantArb("resourceGroups")).map(
    ([bits, rgSegment]): NodeView => ({
      kind: "Node",
      metadata: nodeMeta(name, placement.pool, bits.uid, bits.resourceVersion, bits.created),
      providerID: vmProviderId(placement.subscriptionId, placement.resourceGroup, name).replace("resourceGroups", rgSegment),
    }),
  );
}

/** A VMSS instance node: scale set `aks-<pool>-<hash>-vmss`, node name with the base-36 instance suffix. */
export function vmssNodeArb(placement: PoolPlacement, instanceId: number): fc.Arbitrary<NodeView> {
  const scaleSet = `aks-${placement.pool}-${placement.hash}-vmss`;
  const name = aksVmssNodeName(scaleSet, instanceId);
  return metaBitsArb.map(
    (bits): NodeView => ({
      kind: "Node",
      metadata: nodeMeta(name, placement.pool, bits.uid, bits.resourceVersion, bits.created),
      providerID: vmssProviderId(placement.subscriptionId, placement.resourceGroup, scaleSet, String(instanceId)),
    }),
  );
}

/**
 * A valid node: either a VM (`…/virtualMachines/<node>`) or a VMSS instance
 * (`…/virtualMachineScaleSets/<ss>/virtualMachines/<n>`, node `aks-pool-12345678-vmss00000a`).
 */
export function nodeArb(options: NodeArbOptions = {}): fc.Arbitrary<NodeView> {
  const kinds = options.kinds !== undefined && options.kinds.length > 0 ? options.kinds : (["vm", "vmss"] as const);
  const node = fc
    .tuple(placementArb, fc.constantFrom(...kinds), fc.nat(40))
    .chain(([placement, kind, n]) => (kind === "vm" ? vmNodeArb(placement, n % 10) : vmssNodeArb(placement, n)));
  if (options.allowMissingProviderId !== true) return node;
  return fc
    .tuple(node, fc.integer({ min: 1, max: 10 }))
    .map(([n, roll]): NodeView => (roll === 1 ? { ...n, providerID: "" } : n));
}
