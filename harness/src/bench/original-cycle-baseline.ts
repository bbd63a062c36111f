import {
  BINDING_LABEL,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type NodeView,
  type PodView,
} from "@podid/core";

/** What one original-style cycle decided: identities to add and remove per node or scale set. */
export interface OriginalCycleResult {
  /** Resource ids to attach, summed over targets (deduplicated per target). */
  readonly add: number;
  /** Resource ids to detach, summed over targets (after the in-use check). */
  readonly remove: number;
  /** AAIs the cycle would create, update in place, or delete. */
  readonly creates: number;
  readonly updates: number;
  readonly deletes: number;
}

interface DesiredAssignment {
  readonly name: string;
  readonly pod: string;
  readonly podNamespace: string;
  readonly node: string;
  readonly identity: AzureIdentity;
  readonly binding: AzureIdentityBinding;
}

/**
 * The baseline for `bench:core`: one sync cycle computed the way the original MIC does it
 * (docs/compatibility.md#reconcile-cycle-steps), given the same inputs podid's planner gets — the cluster
 * **and the AzureAssignedIdentities that already exist**:
 * 1. desired set: every binding scanned for every labelled pod, an assignment per match embedding the
 *    identity and binding (the original builds full AAI objects here);
 * 2. diff by name against the existing AAIs, where "matching" means same pod, namespace, node and the same
 *    binding and identity names **and resourceVersions**; `Created` ones are retried; names in both lists
 *    become in-place updates;
 * 3. removals: for every deleted AAI and the "before" side of every update, the original's in-use check —
 *    a scan over every desired assignment for another pod with the same client id on the same node or scale
 *    set (nodes grouped into scale sets by a providerID regex);
 * 4. additions grouped per node or scale set, deduplicated.
 * It is a cost model written for this benchmark, not a port of the original's code; it exists only so the
 * bench can print same-process ratios for the same inputs.
 */
export function originalStyleCycle(
  cluster: { pods: readonly PodView[]; bindings: readonly AzureIdentityBinding[]; identities: readonly AzureIdentity[]; nodes: readonly NodeView[] },
  current: readonly AzureAssignedIdentity[],
): OriginalCycleResult {
  const identityMap = new Map(cluster.identities.map((i) => [`${i.metadata.namespace}/${i.metadata.name}`, i]));
  const desired = new Map<string, DesiredAssignment>();
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
        desired.set(name, { name, pod: pod.metadata.name, podNamespace: pod.metadata.namespace, node: pod.nodeName, identity: { ...identity }, binding: { ...binding } });
      }
    }
  }

  const matches = (c: AzureAssignedIdentity, d: DesiredAssignment): boolean =>
    c.spec.pod === d.pod &&
    c.spec.podNamespace === d.podNamespace &&
    c.spec.nodeName === d.node &&
    c.spec.azureBindingRef.metadata.name === d.binding.metadata.name &&
    c.spec.azureBindingRef.metadata.resourceVersion === d.binding.metadata.resourceVersion &&
    c.spec.azureIdentityRef.metadata.name === d.identity.metadata.name &&
    c.spec.azureIdentityRef.metadata.resourceVersion === d.identity.metadata.resourceVersion;
  const currentByName = new Map(current.map((c) => [c.metadata.name, c]));
  const addList = new Map<string, DesiredAssignment>();
  for (const d of desired.values()) {
    const c = currentByName.get(d.name);
    if (c === undefined || !matches(c, d) || c.status === "Created") addList.set(d.name, d);
  }
  const deleteList = new Map<string, AzureAssignedIdentity>();
  for (const c of current) {
    const d = desired.get(c.metadata.name);
    if (d === undefined || !matches(c, d)) deleteList.set(c.metadata.name, c);
  }
  // Names in both lists are updates: the old object is the "before", the desired one the "after".
  const before: AzureAssignedIdentity[] = [];
  let updates = 0;
  for (const [name, c] of deleteList) {
    if (!addList.has(name)) continue;
    before.push(c);
    deleteList.delete(name);
    updates++;
  }
  const creates = [...addList.keys()].filter((name) => !currentByName.has(name)).length;

  const scaleSetOf = new Map<string, string>();
  for (const node of cluster.nodes) {
    const match = /virtualMachineScaleSets\/([^/]+)\/virtualMachines/i.exec(node.providerID);
    scaleSetOf.set(node.metadata.name, match?.[1] ?? node.metadata.name);
  }
  const desiredList = [...desired.values()];
  const removePerTarget = new Map<string, Set<string>>();
  for (const c of [...deleteList.values(), ...before]) {
    if (c.status !== "Assigned" && c.status !== "") continue;
    if (c.spec.azureIdentityRef.spec.type !== 0) continue;
    const clientID = c.spec.azureIdentityRef.spec.clientID;
    const group = scaleSetOf.get(c.spec.nodeName) ?? c.spec.nodeName;
    // checkIfInUse: a scan over every desired assignment per removal.
    const inUse = desiredList.some(
      (d) => d.identity.spec.type === 0 && d.identity.spec.clientID === clientID && d.pod !== c.spec.pod && (scaleSetOf.get(d.node) ?? d.node) === group,
    );
    if (inUse) continue;
    let ids = removePerTarget.get(group);
    if (ids === undefined) removePerTarget.set(group, (ids = new Set()));
    ids.add(c.spec.azureIdentityRef.spec.resourceID.toLowerCase());
  }
  const addPerTarget = new Map<string, Set<string>>();
  for (const d of addList.values()) {
    if (d.identity.spec.type !== 0) continue;
    const group = scaleSetOf.get(d.node) ?? d.node;
    let ids = addPerTarget.get(group);
    if (ids === undefined) addPerTarget.set(group, (ids = new Set()));
    ids.add(d.identity.spec.resourceID.toLowerCase());
  }
  const total = (perTarget: Map<string, Set<string>>) => [...perTarget.values()].reduce((n, s) => n + s.size, 0);
  return { add: total(addPerTarget), remove: total(removePerTarget), creates, updates, deletes: deleteList.size };
}
