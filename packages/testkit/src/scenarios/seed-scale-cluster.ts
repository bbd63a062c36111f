import { computeTargetKey, parseProviderId, type ComputeTarget } from "@podid/core";
import type { FakeCluster } from "../fakes/fake-cluster.js";
import type { FakeCompute } from "../fakes/fake-compute.js";
import type { ScaleCluster } from "./scale-cluster.js";

/**
 * Loads a generated cluster's nodes, identities and bindings into `cluster`, and registers each VM or scale set
 * its nodes name in `compute` (system-assigned identity only, no user-assigned ones yet). Pods are left to the
 * caller, which usually adds them as the event under test. Returns the targets by canonical key.
 */
export function seedScaleCluster(base: ScaleCluster, cluster: FakeCluster, compute: FakeCompute): Map<string, ComputeTarget> {
  const targets = new Map<string, ComputeTarget>();
  for (const node of base.nodes) {
    cluster.apply("nodes", node);
    const parsed = parseProviderId(node.providerID);
    if (parsed.ok && !targets.has(computeTargetKey(parsed.value.target))) {
      targets.set(computeTargetKey(parsed.value.target), parsed.value.target);
      compute.add(parsed.value.target, { systemAssigned: true });
    }
  }
  for (const identity of base.identities) cluster.apply("azureidentities", identity);
  for (const binding of base.bindings) cluster.apply("azureidentitybindings", binding);
  return targets;
}
