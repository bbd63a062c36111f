import { computeTargetKey } from "../azure-ids/compute-target.js";
import { parseProviderId } from "../azure-ids/provider-id.js";
import type { ComputeTarget } from "../azure-ids/types.js";
import type { NodeView } from "../model/types.js";

/** A node's VM or scale set, with its canonical key (see `computeTargetKey`). */
export interface NodePlacement {
  readonly target: ComputeTarget;
  readonly key: string;
}

/** Why a node could not be turned into a compute target. */
export interface UnresolvedNode {
  readonly nodeName: string;
  readonly reason: "nodeNotFound" | "invalidProviderId";
  readonly message: string;
}

/** Resolves node names to their VM/VMSS; memoised, so one pass parses each providerID once. */
export type NodeResolver = (nodeName: string) => NodePlacement | UnresolvedNode;

/** A {@link NodeResolver} over `nodes` (a snapshot: later changes to the array are not seen). */
export function nodeResolver(nodes: readonly NodeView[]): NodeResolver {
  const byName = new Map(nodes.map((node) => [node.metadata.name, node]));
  const cache = new Map<string, NodePlacement | UnresolvedNode>();
  return (nodeName) => {
    const cached = cache.get(nodeName);
    if (cached !== undefined) return cached;
    const node = byName.get(nodeName);
    let result: NodePlacement | UnresolvedNode;
    if (node === undefined) {
      result = { nodeName, reason: "nodeNotFound", message: `node ${nodeName} is not in the cache` };
    } else {
      const parsed = parseProviderId(node.providerID);
      result = parsed.ok
        ? { target: parsed.value.target, key: computeTargetKey(parsed.value.target) }
        : { nodeName, reason: "invalidProviderId", message: parsed.error.message };
    }
    cache.set(nodeName, result);
    return result;
  };
}

/** True when both nodes resolve to one and the same VM/VMSS. */
export function onSameTarget(resolve: NodeResolver, nodeA: string, nodeB: string): boolean {
  const a = resolve(nodeA);
  const b = resolve(nodeB);
  return "key" in a && "key" in b && a.key === b.key;
}
