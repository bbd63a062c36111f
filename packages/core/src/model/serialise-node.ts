import { serialiseObjectMeta } from "./serialise-object-meta.js";
import type { NodeView } from "./types.js";
import type { WireNode } from "./wire-types.js";

/** A Node as wire JSON, reduced to the fields podid reads. */
export function serialiseNode(node: NodeView): WireNode {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: serialiseObjectMeta(node.metadata),
    spec: node.providerID !== "" ? { providerID: node.providerID } : {},
  };
}
