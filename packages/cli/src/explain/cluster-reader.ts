/**
 * Reads what `podid explain` needs from a live cluster with plain GET/LIST requests (no informers: one
 * consistent-enough snapshot per invocation), and — when cloud access is configured — the identity block of
 * the VMs/VMSS involved.
 * @packageDocumentation
 */
import { toWireJson } from "@podid/adapter-k8s";
import {
  API_GROUP,
  API_VERSION,
  BINDING_LABEL,
  bindingMatchesPod,
  computeTargetKey,
  nearMatchingBindings,
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseAzurePodIdentityException,
  parseNode,
  parsePod,
  parseProviderId,
  PLURAL,
  selectorNearMiss,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type ComputePort,
  type ComputeTarget,
  type NodeView,
  type PodView,
} from "@podid/core";
import { CliError } from "../cli-io.js";
import type { CloudFacts, EventView } from "./explanation-types.js";
import { crdsMissing, kubeRead, type KubeAccess } from "./kube-access.js";
import { formatTimestamp, parsedRef, rawSpecString, type Parsed, type PodReadout } from "./readout.js";

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function itemsOf(list: unknown): unknown[] {
  return isObject(list) && Array.isArray(list["items"]) ? list["items"] : [];
}

/** Lists one podid custom resource across all namespaces; a 404 means the CRDs are missing. */
async function listCustom(access: KubeAccess, plural: string): Promise<unknown[]> {
  const path = `/apis/${API_GROUP}/${API_VERSION}/${plural}`;
  const list = await kubeRead(access, { what: plural, path, notFound: () => crdsMissing(access, path) }, () =>
    access.client.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural }),
  );
  return itemsOf(list);
}

/** Lists one podid custom resource in one namespace; a 404 means the CRDs are missing. */
async function listCustomIn(access: KubeAccess, plural: string, namespace: string): Promise<unknown[]> {
  const path = `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${plural}`;
  const list = await kubeRead(access, { what: plural, path, notFound: () => crdsMissing(access, path) }, () =>
    access.client.custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural }),
  );
  return itemsOf(list);
}

/** The four podid resources, parsed. Exceptions only of `exceptionNamespace` when given. */
export async function readPodidObjects(
  access: KubeAccess,
  exceptionNamespace?: string,
): Promise<{
  identities: Parsed<AzureIdentity>[];
  bindings: Parsed<AzureIdentityBinding>[];
  exceptions: AzurePodIdentityException[];
  assigned: AzureAssignedIdentity[];
}> {
  const identities = (await listCustom(access, PLURAL.AzureIdentity)).map((raw) => ({ raw, result: parseAzureIdentity(raw) }));
  const bindings = (await listCustom(access, PLURAL.AzureIdentityBinding)).map((raw) => ({ raw, result: parseAzureIdentityBinding(raw) }));
  const rawExceptions =
    exceptionNamespace === undefined
      ? await listCustom(access, PLURAL.AzurePodIdentityException)
      : await listCustomIn(access, PLURAL.AzurePodIdentityException, exceptionNamespace);
  const exceptions = rawExceptions.flatMap((raw) => {
    const parsed = parseAzurePodIdentityException(raw);
    return parsed.ok ? [parsed.value] : [];
  });
  const assigned = (await listCustom(access, PLURAL.AzureAssignedIdentity)).flatMap((raw) => {
    const parsed = parseAzureAssignedIdentity(raw);
    return parsed.ok ? [parsed.value] : [];
  });
  return { identities, bindings, exceptions, assigned };
}

function str(object: unknown, key: string): string {
  return isObject(object) && typeof object[key] === "string" ? object[key] : "";
}

/** Reduces a core/v1 Event (wire JSON) to an {@link EventView}. */
export function eventView(raw: unknown): EventView | undefined {
  if (!isObject(raw)) return undefined;
  const involved = raw["involvedObject"];
  const metadata = raw["metadata"];
  const times = [str(raw, "lastTimestamp"), str(raw, "eventTime"), str(raw, "firstTimestamp"), str(metadata, "creationTimestamp")].filter((t) => t !== "");
  const count = typeof raw["count"] === "number" ? raw["count"] : 1;
  return {
    type: str(raw, "type") || "Normal",
    reason: str(raw, "reason"),
    message: str(raw, "message"),
    count,
    last: formatTimestamp(times[0] ?? ""),
    object: { kind: str(involved, "kind"), namespace: str(involved, "namespace") || str(metadata, "namespace"), name: str(involved, "name") },
  };
}

/** The Events about the given objects (one filtered list per object, by `involvedObject.name`). */
export async function readEvents(access: KubeAccess, objects: readonly { kind: string; namespace: string; name: string }[]): Promise<EventView[]> {
  const seen = new Set<string>();
  const views: EventView[] = [];
  for (const object of objects) {
    const key = `${object.kind}/${object.namespace}/${object.name}`;
    if (seen.has(key) || object.name === "" || object.namespace === "") continue;
    seen.add(key);
    const list = await kubeRead(access, { what: `Events of ${object.kind} ${object.namespace}/${object.name}`, path: `/api/v1/namespaces/${object.namespace}/events` }, () =>
      access.client.core.listNamespacedEvent({ namespace: object.namespace, fieldSelector: `involvedObject.name=${object.name}` }),
    );
    for (const item of (toWireJson(list) as { items?: unknown[] } | undefined)?.items ?? []) {
      const view = eventView(item);
      if (view !== undefined && view.object.kind === object.kind && view.object.name === object.name) views.push(view);
    }
  }
  return views;
}

/** Reads the identity block of a VM/VMSS through the configured compute port. */
export async function readCloud(compute: ComputePort | undefined, target: ComputeTarget): Promise<CloudFacts | undefined> {
  if (compute === undefined) return undefined;
  const read = await compute.getIdentities(target);
  if (!read.ok) return { error: `${read.error.kind}: ${read.error.message}` };
  return { type: read.value.type, attached: [...new Set(read.value.userAssignedIdentityIds.map((id) => id.toLowerCase()))].sort() };
}

/** Reads a node; `undefined` when it does not exist. */
export async function readNode(access: KubeAccess, name: string): Promise<NodeView | undefined> {
  let missing = false;
  const raw = await kubeRead(
    access,
    { what: `node ${name}`, path: `/api/v1/nodes/${name}`, notFound: () => ((missing = true), new CliError(`node ${name} not found`)) },
    () => access.client.core.readNode({ name }),
  ).catch((error: unknown) => {
    if (missing) return undefined;
    throw error;
  });
  if (raw === undefined) return undefined;
  const parsed = parseNode(toWireJson(raw));
  return parsed.ok ? parsed.value : undefined;
}

/** Reads the pod; a 404 names other namespaces holding a pod of that name. */
async function readPod(access: KubeAccess, namespace: string, name: string): Promise<{ raw: unknown; view: PodView }> {
  const path = `/api/v1/namespaces/${namespace}/pods/${name}`;
  let notFound = false;
  const typed = await kubeRead(access, { what: `pod ${namespace}/${name}`, path, notFound: () => ((notFound = true), new CliError(`pod ${namespace}/${name} not found`)) }, () =>
    access.client.core.readNamespacedPod({ name, namespace }),
  ).catch(async (error: unknown) => {
    if (!notFound) throw error;
    const others = await kubeRead(access, { what: "pods", path: "/api/v1/pods" }, () => access.client.core.listPodForAllNamespaces({ fieldSelector: `metadata.name=${name}` })).catch(() => undefined);
    const namespaces = (others?.items ?? []).map((p) => p.metadata?.namespace ?? "").filter((ns) => ns !== "" && ns !== namespace).sort();
    throw new CliError(`pod ${namespace}/${name} not found`, {
      hint: namespaces.length > 0 ? `a pod named ${name} exists in namespace ${namespaces.join(", ")}: use -n ${namespaces[0]}` : `kubectl get pods -A | grep ${name}`,
    });
  });
  const raw = toWireJson(typed);
  const parsed = parsePod(raw);
  if (!parsed.ok) throw new CliError(`pod ${namespace}/${name} could not be read: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  return { raw, view: parsed.value };
}

/**
 * Everything `explain pod` needs: the pod, its node, the podid objects, Events of the bindings that match
 * or nearly match and of the pod's AzureAssignedIdentities, and (with `compute`) the identity block of the
 * node's VM/VMSS.
 */
export async function readPodReadout(access: KubeAccess, namespace: string, name: string, compute: ComputePort | undefined): Promise<PodReadout> {
  const pod = await readPod(access, namespace, name);
  const objects = await readPodidObjects(access, namespace);
  const label = pod.view.metadata.labels[BINDING_LABEL] ?? "";
  const validBindings = objects.bindings.flatMap((p) => (p.result.ok ? [p.result.value] : []));
  const relevantBindings = [
    ...validBindings.filter((b) => bindingMatchesPod(b, pod.view)).map((b) => b.metadata),
    ...nearMatchingBindings(pod.view, validBindings).map((n) => n.binding.metadata),
    ...objects.bindings.filter((p) => !p.result.ok && label !== "" && (rawSpecString(p.raw, ["selector", "Selector"]) === label || selectorNearMiss(label, rawSpecString(p.raw, ["selector", "Selector"])) !== undefined)).map(parsedRef),
  ];
  const ownAssigned = objects.assigned.filter((a) => a.spec.pod === name && a.spec.podNamespace === namespace);
  const events = await readEvents(access, [
    ...relevantBindings.map((b) => ({ kind: "AzureIdentityBinding", namespace: b.namespace, name: b.name })),
    ...ownAssigned.map((a) => ({ kind: "AzureAssignedIdentity", namespace: a.metadata.namespace, name: a.metadata.name })),
  ]);
  let node: PodReadout["node"];
  let cloud: CloudFacts | undefined;
  if (pod.view.nodeName !== "") {
    const view = await readNode(access, pod.view.nodeName);
    node = view === undefined ? { name: pod.view.nodeName } : { name: pod.view.nodeName, view };
    const parsed = view === undefined ? undefined : parseProviderId(view.providerID);
    if (parsed?.ok === true) cloud = await readCloud(compute, parsed.value.target);
  }
  return {
    pod: pod.view,
    podRaw: pod.raw,
    ...(node === undefined ? {} : { node }),
    ...(cloud === undefined ? {} : { cloud }),
    ...objects,
    events,
  };
}

/** Input of `explainIdentity`. */
export interface IdentityReadout {
  readonly namespace: string;
  readonly name: string;
  readonly identities: readonly Parsed<AzureIdentity>[];
  readonly bindings: readonly Parsed<AzureIdentityBinding>[];
  readonly assigned: readonly AzureAssignedIdentity[];
  readonly exceptions: readonly AzurePodIdentityException[];
  /** Pods carrying the `aadpodidbinding` label (any value), cluster-wide. */
  readonly pods: readonly PodView[];
  readonly nodes: readonly NodeView[];
  readonly events: readonly EventView[];
  /** Identity blocks of the VMs/VMSS involved, by target key (only with cloud access). */
  readonly cloud: ReadonlyMap<string, CloudFacts>;
}

/**
 * Everything `explain identity` needs: the podid objects, every labelled pod and every node, Events of the
 * identity's bindings and AzureAssignedIdentities, and (with `compute`) the identity block of each VM/VMSS
 * the identity's pods run on. A missing identity is a {@link CliError} naming namespaces that have one.
 */
export async function readIdentityReadout(access: KubeAccess, namespace: string, name: string, compute: ComputePort | undefined): Promise<IdentityReadout> {
  const objects = await readPodidObjects(access);
  const matching = objects.identities.filter((p) => {
    const r = parsedRef(p);
    return r.namespace === namespace && r.name === name;
  });
  if (matching.length === 0) {
    const elsewhere = objects.identities.map(parsedRef).filter((r) => r.name === name).map((r) => r.namespace).sort();
    throw new CliError(`AzureIdentity ${namespace}/${name} not found`, {
      hint: elsewhere.length > 0 ? `an AzureIdentity named ${name} exists in namespace ${elsewhere.join(", ")}: use -n ${elsewhere[0]}` : "kubectl get azureidentities -A",
    });
  }
  const podList = await kubeRead(access, { what: "pods", path: "/api/v1/pods" }, () => access.client.core.listPodForAllNamespaces({ labelSelector: BINDING_LABEL }));
  const pods = ((toWireJson(podList) as { items?: unknown[] } | undefined)?.items ?? []).flatMap((raw) => {
    const parsed = parsePod(raw);
    return parsed.ok ? [parsed.value] : [];
  });
  const nodeList = await kubeRead(access, { what: "nodes", path: "/api/v1/nodes" }, () => access.client.core.listNode({}));
  const nodes = ((toWireJson(nodeList) as { items?: unknown[] } | undefined)?.items ?? []).flatMap((raw) => {
    const parsed = parseNode(raw);
    return parsed.ok ? [parsed.value] : [];
  });
  const ownBindings = objects.bindings.filter((p) => {
    const r = parsedRef(p);
    return r.namespace === namespace && (p.result.ok ? p.result.value.spec.azureIdentity : rawSpecString(p.raw, ["azureIdentity", "AzureIdentity"])) === name;
  });
  const ownAssigned = objects.assigned.filter((a) => a.spec.azureIdentityRef.metadata.namespace === namespace && a.spec.azureIdentityRef.metadata.name === name);
  const events = await readEvents(access, [
    ...ownBindings.map((p) => ({ kind: "AzureIdentityBinding", ...parsedRef(p) })),
    ...ownAssigned.map((a) => ({ kind: "AzureAssignedIdentity", namespace: a.metadata.namespace, name: a.metadata.name })),
  ]);
  const cloud = new Map<string, CloudFacts>();
  if (compute !== undefined) {
    const selectors = new Set(ownBindings.flatMap((p) => (p.result.ok ? [p.result.value.spec.selector] : [])));
    const nodeNames = new Set([...ownAssigned.map((a) => a.spec.nodeName), ...pods.filter((p) => selectors.has(p.metadata.labels[BINDING_LABEL] ?? "")).map((p) => p.nodeName)]);
    for (const node of nodes) {
      if (!nodeNames.has(node.metadata.name)) continue;
      const parsed = parseProviderId(node.providerID);
      if (!parsed.ok) continue;
      const key = computeTargetKey(parsed.value.target);
      if (cloud.has(key)) continue;
      const facts = await readCloud(compute, parsed.value.target);
      if (facts !== undefined) cloud.set(key, facts);
    }
  }
  return { namespace, name, ...objects, pods, nodes, events, cloud };
}
