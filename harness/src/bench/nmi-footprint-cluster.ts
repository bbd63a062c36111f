/**
 * The large cluster `nmi-footprint.ts` runs NMI in: nodes of one scale set, every pod bound to an identity with
 * the AzureAssignedIdentity MIC would have written, NMI's node first; plus the change used to provoke events.
 * @packageDocumentation
 */
import {
  serialiseAzureAssignedIdentity,
  serialiseAzureIdentity,
  serialiseAzureIdentityBinding,
  serialiseAzurePodIdentityException,
  serialiseNode,
  serialisePod,
  type AzureIdentity,
  type AzureIdentityBinding,
} from "@podid/core";
import { makeAssigned, makeBinding, makeException, makeIdentity, makePod, type FakeKubeApiServer, type KubeObject } from "@podid/testkit";

/** The scale set of the cluster's nodes, and its subscription and resource group. */
export const SCALE_SET = "aks-bench-12345678-vmss";
export const SUBSCRIPTION = "00000000-0000-4000-8000-00000000f00d";
export const RESOURCE_GROUP = "MC_bench_aks_westeurope";
/** Namespaces the pods, identities and bindings are spread over. */
export const TEAM_NAMESPACES = Array.from({ length: 10 }, (_, i) => `team-${i}`);

/** Shape of the cluster. */
export interface FootprintClusterShape {
  readonly nodes: number;
  readonly pods: number;
  readonly podsOnNode: number;
  readonly sharedIdentities: number;
}

/** The cluster: nodes of one scale set, bound pods round-robin, NMI's node the first. */
export function populate(api: FakeKubeApiServer, o: FootprintClusterShape) {
  const nodeName = (n: number) => `${SCALE_SET}${n.toString(36).padStart(6, "0")}`;
  const put = (object: unknown) => api.store.upsert(object as KubeObject);
  for (let n = 0; n < o.nodes; n++) {
    put(serialiseNode({ kind: "Node", metadata: { name: nodeName(n), namespace: "", labels: {}, annotations: {}, finalizers: [] }, providerID: `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET}/virtualMachines/${n}` }));
  }
  const bound = (identity: AzureIdentity): AzureIdentityBinding => makeBinding(identity, `${identity.metadata.name}-selector`);
  const shared = Array.from({ length: o.sharedIdentities }, (_, i) => makeIdentity({ name: `shared-${i}`, namespace: TEAM_NAMESPACES[i % TEAM_NAMESPACES.length] ?? "default" }));
  const own = Array.from({ length: o.podsOnNode }, (_, i) => makeIdentity({ name: `local-${i}`, namespace: TEAM_NAMESPACES[i % TEAM_NAMESPACES.length] ?? "default" }));
  for (const identity of [...shared, ...own]) {
    put(serialiseAzureIdentity(identity));
    put(serialiseAzureIdentityBinding(bound(identity)));
  }
  const localIps: string[] = [];
  let assigned = 0;
  const firstPods: { local?: { name: string; namespace: string }; other?: { name: string; namespace: string } } = {};
  for (let p = 0; p < o.pods; p++) {
    const local = p < o.podsOnNode;
    const identity = local ? own[p] : shared[(p - o.podsOnNode) % Math.max(1, shared.length)];
    if (identity === undefined) continue;
    // NMI's pods get loopback addresses (they call NMI from them); the others never call.
    const ip = local ? `127.1.${Math.floor(p / 250)}.${(p % 250) + 1}` : `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255}`;
    const node = local ? nodeName(0) : nodeName(1 + ((p - o.podsOnNode) % Math.max(1, o.nodes - 1)));
    const pod = makePod({ name: `${local ? "local" : "app"}-${p}`, namespace: identity.metadata.namespace, ip, node, selector: `${identity.metadata.name}-selector` });
    put(serialisePod(pod));
    put(serialiseAzureAssignedIdentity(makeAssigned(pod, identity, bound(identity))));
    assigned++;
    if (local) localIps.push(ip);
    firstPods[local ? "local" : "other"] ??= { name: pod.metadata.name, namespace: pod.metadata.namespace };
  }
  // Exceptions: one where NMI honours them, one in a team namespace (no effect, so not watched).
  put(serialiseAzurePodIdentityException(makeException("node-agents", "kube-system", { app: "node-agent" })));
  put(serialiseAzurePodIdentityException(makeException("team-exception", "team-0", { app: "sneaky" })));
  return { nodeName, own, localIps, identities: shared.length + own.length, assigned, ...firstPods };
}

/** Touches an object in the fake apiserver (a label change: a `MODIFIED` event for whoever watches it). */
export function touch(api: FakeKubeApiServer, resource: string, name: string, namespace?: string): void {
  const object = api.store.get(resource, name, namespace);
  if (object === undefined) throw new Error(`bench cluster has no ${resource} ${namespace ?? ""}/${name}`);
  const metadata = object.metadata as { labels?: Record<string, string> };
  api.store.upsert({ ...object, metadata: { ...object.metadata, labels: { ...(metadata.labels ?? {}), touched: String(Date.now()) } } } as KubeObject);
}
