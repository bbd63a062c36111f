import { computeTargetKey } from "../azure-ids/compute-target.js";
import { parseProviderId } from "../azure-ids/provider-id.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import type { DesiredAssignment, MatchingOptions } from "../matching/types.js";
import type { AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding, NodeView, PodView } from "../model/types.js";
import { managedIdentityKey } from "./assignment-comparison.js";
import { planReconcile, type ReconcilePlan, type ReconcilePolicy } from "./plan.js";

/** Everything a {@link ReconcileIndex} is built from. */
export interface ReconcileSnapshot {
  readonly pods: readonly PodView[];
  readonly bindings: readonly AzureIdentityBinding[];
  readonly identities: readonly AzureIdentity[];
  readonly nodes: readonly NodeView[];
  readonly assigned: readonly AzureAssignedIdentity[];
}

const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * Keeps what planning needs indexed between events so that a change to one pod is planned in time
 * proportional to that pod, not to the cluster: desired assignments and stored objects by pod, and a
 * count of which identities each VM/VMSS needs (the "in use" rule). The original re-ran a full cycle per
 * event (§4.2); a controller feeds pod events here and falls back to {@link planAll} for changes to
 * bindings, identities or nodes, which can affect any pod.
 */
export class ReconcileIndex {
  readonly #options: MatchingOptions;
  #bindings: readonly AzureIdentityBinding[] = [];
  #identities: readonly AzureIdentity[] = [];
  #nodes: readonly NodeView[] = [];
  #targetOfNode = new Map<string, string | undefined>();
  readonly #pods = new Map<string, PodView>();
  readonly #desiredByPod = new Map<string, readonly DesiredAssignment[]>();
  /** AAI namespace/name → pod key, to detect name collisions between pods. */
  readonly #desiredNames = new Map<string, string>();
  readonly #assignedByPod = new Map<string, Map<string, AzureAssignedIdentity>>();
  /** target key → identity key → number of desired assignments needing it there. */
  readonly #usage = new Map<string, Map<string, number>>();

  constructor(options: MatchingOptions) {
    this.#options = options;
  }

  /** Replaces all indexed state. */
  rebuild(snapshot: ReconcileSnapshot): void {
    this.#bindings = snapshot.bindings;
    this.#identities = snapshot.identities;
    this.#setNodes(snapshot.nodes);
    this.#pods.clear();
    this.#desiredByPod.clear();
    this.#desiredNames.clear();
    this.#assignedByPod.clear();
    this.#usage.clear();
    for (const pod of snapshot.pods) this.#pods.set(podKey(pod.metadata.namespace, pod.metadata.name), pod);
    const { assignments } = matchAssignments(
      { pods: snapshot.pods, bindings: snapshot.bindings, identities: snapshot.identities },
      this.#options,
    );
    const byPod = new Map<string, DesiredAssignment[]>();
    for (const assignment of assignments) {
      const key = podKey(assignment.pod.metadata.namespace, assignment.pod.metadata.name);
      let list = byPod.get(key);
      if (list === undefined) byPod.set(key, (list = []));
      list.push(assignment);
    }
    for (const [key, list] of byPod) this.#setDesired(key, list);
    for (const aai of snapshot.assigned) this.assignedChanged(aai);
  }

  /** Records a stored AzureAssignedIdentity (created or modified). */
  assignedChanged(aai: AzureAssignedIdentity): void {
    const key = podKey(aai.spec.podNamespace, aai.spec.pod);
    let byName = this.#assignedByPod.get(key);
    if (byName === undefined) this.#assignedByPod.set(key, (byName = new Map()));
    byName.set(podKey(aai.metadata.namespace, aai.metadata.name), aai);
  }

  /** Forgets a deleted AzureAssignedIdentity. */
  assignedDeleted(aai: AzureAssignedIdentity): void {
    const key = podKey(aai.spec.podNamespace, aai.spec.pod);
    const byName = this.#assignedByPod.get(key);
    byName?.delete(podKey(aai.metadata.namespace, aai.metadata.name));
    if (byName?.size === 0) this.#assignedByPod.delete(key);
  }

  /** Plans the whole cluster (start-up, resync, binding/identity/node changes). */
  planAll(policy: ReconcilePolicy, nowMs: number): ReconcilePlan {
    const desired = [...this.#desiredByPod.values()].flat();
    const current = [...this.#assignedByPod.values()].flatMap((byName) => [...byName.values()]);
    return planReconcile({ desired, current, nodes: this.#nodes, policy, nowMs });
  }

  /**
   * Applies a pod change (`pod` undefined = deleted) and plans only that pod's objects. Returns
   * `undefined` when the change collides by name with another pod's assignment; the caller then plans all
   * (collisions need the global order to decide which one is kept).
   */
  planPod(namespace: string, name: string, pod: PodView | undefined, policy: ReconcilePolicy, nowMs: number): ReconcilePlan | undefined {
    const key = podKey(namespace, name);
    const desired =
      pod === undefined
        ? []
        : matchAssignments({ pods: [pod], bindings: this.#bindings, identities: this.#identities }, this.#options).assignments;
    for (const assignment of desired) {
      const owner = this.#desiredNames.get(podKey(assignment.namespace, assignment.name));
      if (owner !== undefined && owner !== key) return undefined;
    }
    if (pod === undefined) this.#pods.delete(key);
    else this.#pods.set(key, pod);
    this.#setDesired(key, desired);
    const current = [...(this.#assignedByPod.get(key)?.values() ?? [])];
    return planReconcile({
      desired,
      current,
      nodes: this.#nodesFor(desired, current),
      policy,
      nowMs,
      usedElsewhere: (targetKey, identityKey) => (this.#usage.get(targetKey)?.get(identityKey) ?? 0) > 0,
    });
  }

  #setNodes(nodes: readonly NodeView[]): void {
    this.#nodes = nodes;
    this.#targetOfNode = new Map(
      nodes.map((node) => {
        const parsed = parseProviderId(node.providerID);
        return [node.metadata.name, parsed.ok ? computeTargetKey(parsed.value.target) : undefined];
      }),
    );
  }

  /** Only the nodes the planned objects sit on, so per-pod planning does not walk every node. */
  #nodesFor(desired: readonly DesiredAssignment[], current: readonly AzureAssignedIdentity[]): NodeView[] {
    const names = new Set([...desired.map((d) => d.nodeName), ...current.map((c) => c.spec.nodeName)]);
    return this.#nodes.filter((node) => names.has(node.metadata.name));
  }

  #setDesired(key: string, desired: readonly DesiredAssignment[]): void {
    for (const old of this.#desiredByPod.get(key) ?? []) {
      this.#desiredNames.delete(podKey(old.namespace, old.name));
      this.#count(old, -1);
    }
    if (desired.length === 0) this.#desiredByPod.delete(key);
    else this.#desiredByPod.set(key, desired);
    for (const assignment of desired) {
      this.#desiredNames.set(podKey(assignment.namespace, assignment.name), key);
      this.#count(assignment, +1);
    }
  }

  #count(assignment: DesiredAssignment, delta: number): void {
    const identity = managedIdentityKey(assignment.identity);
    const target = this.#targetOfNode.get(assignment.nodeName);
    if (identity === undefined || target === undefined) return;
    let counts = this.#usage.get(target);
    if (counts === undefined) this.#usage.set(target, (counts = new Map()));
    const next = (counts.get(identity) ?? 0) + delta;
    if (next > 0) counts.set(identity, next);
    else counts.delete(identity);
  }
}
