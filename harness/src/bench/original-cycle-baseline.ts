import { BINDING_LABEL, type AzureAssignedIdentity, type AzureIdentity, type AzureIdentityBinding, type NodeView, type PodView } from "@podid/core";

/**
 * The baseline for `bench:core`: one sync cycle computed the way the original MIC does it
 * (docs/compatibility.md#reconcile-cycle-steps): every binding scanned for every pod, the desired list diffed
 * by name, removals checked for "in use" by scanning the whole desired list, nodes grouped into scale sets by
 * a providerID regex. It is a faithful cost model, not a port — it exists only so the bench can print a
 * same-process ratio.
 */
export function originalStyleCycle(
  cluster: { pods: readonly PodView[]; bindings: readonly AzureIdentityBinding[]; identities: readonly AzureIdentity[]; nodes: readonly NodeView[] },
  current: readonly AzureAssignedIdentity[],
): { add: number; remove: number } {
  const identityMap = new Map(cluster.identities.map((i) => [`${i.metadata.namespace}/${i.metadata.name}`, i]));
  interface Desired {
    name: string;
    pod: string;
    node: string;
    resourceID: string;
    clientID: string;
  }
  const desired = new Map<string, Desired>();
  for (const pod of cluster.pods) {
    if (pod.nodeName === "") continue;
    const label = pod.metadata.labels[BINDING_LABEL];
    if (label === undefined || label === "") continue;
    const matched = cluster.bindings.filter((b) => b.spec.selector === label);
    matched.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    for (const binding of matched) {
      const identity = identityMap.get(`${binding.metadata.namespace}/${binding.spec.azureIdentity}`);
      if (identity === undefined) continue;
      const name = `${pod.metadata.name}-${pod.metadata.namespace}-${identity.metadata.name}`;
      if (!desired.has(name)) {
        desired.set(name, { name, pod: pod.metadata.name, node: pod.nodeName, resourceID: identity.spec.resourceID, clientID: identity.spec.clientID });
      }
    }
  }
  const currentByName = new Map(current.map((c) => [c.metadata.name, c]));
  const addList = [...desired.values()].filter((d) => {
    const c = currentByName.get(d.name);
    return c === undefined || c.status === "Created" || c.spec.nodeName !== d.node;
  });
  const deleteList = current.filter((c) => {
    const d = desired.get(c.metadata.name);
    return d === undefined || c.spec.nodeName !== d.node;
  });
  const scaleSetOf = new Map<string, string>();
  for (const node of cluster.nodes) {
    const match = /virtualMachineScaleSets\/([^/]+)\/virtualMachines/i.exec(node.providerID);
    scaleSetOf.set(node.metadata.name, match?.[1] ?? node.metadata.name);
  }
  const desiredList = [...desired.values()];
  let remove = 0;
  for (const c of deleteList) {
    const clientID = c.spec.azureIdentityRef.spec.clientID;
    const group = scaleSetOf.get(c.spec.nodeName);
    // checkIfInUse: a scan over every desired assignment per removal.
    const inUse = desiredList.some((d) => d.clientID === clientID && d.pod !== c.spec.pod && scaleSetOf.get(d.node) === group);
    if (!inUse) remove++;
  }
  const perTarget = new Map<string, Set<string>>();
  for (const d of addList) {
    const group = scaleSetOf.get(d.node) ?? d.node;
    let ids = perTarget.get(group);
    if (ids === undefined) perTarget.set(group, (ids = new Set()));
    ids.add(d.resourceID.toLowerCase());
  }
  return { add: [...perTarget.values()].reduce((n, s) => n + s.size, 0), remove };
}
