import type { Result } from "../result.js";
import { finishParse, readEnvelope } from "./envelope.js";
import type { NodeView } from "./types.js";
import type { ValidationError } from "./validation.js";
import { readString } from "./wire-reader.js";

/**
 * Parses the parts of a Node podid uses: `metadata` (name required; namespace always `""`, nodes being
 * cluster-scoped) and `spec.providerID` (`""` when absent). A node without a providerID is still valid:
 * working out its VM or scale set (`parseProviderId`) is a separate step whose failure is reported per
 * assignment, not by hiding the node.
 */
export function parseNode(raw: unknown): Result<NodeView, ValidationError> {
  const envelope = readEnvelope(raw, { objectKind: "Node", namespaced: false });
  if (!envelope.ok) return envelope;
  const { spec, metadata, issues } = envelope.value;
  return finishParse("Node", envelope.value, {
    kind: "Node",
    metadata,
    providerID: readString(spec, ["providerID"], "spec", issues),
  });
}
