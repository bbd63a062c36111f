import {
  assignedIdentityName,
  BINDING_LABEL,
  type AssignedIdentityWireStatus,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type ObjectMeta,
  type PodPhase,
  type PodView,
  type SecretRef,
} from "@podid/core";
import type { FakeCluster } from "../fakes/fake-cluster.js";
import { fakeIdentityRecord } from "../fakes/fake-identity-catalog.js";
import type { FakeTokenSource } from "../fakes/fake-token-source.js";

/**
 * Builders of the cluster objects tests put into a FakeCluster or a fake apiserver: pods, AzureIdentities,
 * bindings, AzureAssignedIdentities and exceptions, with the ARM ids and client ids testkit's token and identity
 * fakes derive.
 * @packageDocumentation
 */
/** The node every fixture pod runs on. */
export const TEST_NODE = "aks-nodepool1-12345678-vmss000000";
/** Subscription and resource group of fixture identities. */
const SUB = "00000000-0000-4000-8000-000000000001";
const RG = "rg-identities";

function meta(name: string, namespace: string, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { name, namespace, uid: `uid-${namespace}-${name}`, labels: {}, annotations: {}, finalizers: [], ...extra };
}

/** Options of {@link makePod}. */
export interface PodOptions {
  readonly name: string;
  readonly namespace?: string;
  readonly ip: string;
  readonly uid?: string;
  readonly selector?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly node?: string;
  readonly phase?: PodPhase;
  readonly hostNetwork?: boolean;
  readonly deletionTimestamp?: string;
}

/** A pod on {@link TEST_NODE} (unless told otherwise) with one IP and optionally the binding label. */
export function makePod(o: PodOptions): PodView {
  const namespace = o.namespace ?? "default";
  const labels = { ...(o.labels ?? {}), ...(o.selector !== undefined ? { [BINDING_LABEL]: o.selector } : {}) };
  return {
    kind: "Pod",
    metadata: meta(o.name, namespace, {
      labels,
      uid: o.uid ?? `uid-${namespace}-${o.name}`,
      ...(o.deletionTimestamp !== undefined ? { deletionTimestamp: o.deletionTimestamp } : {}),
    }),
    nodeName: o.node ?? TEST_NODE,
    serviceAccountName: "default",
    hostNetwork: o.hostNetwork ?? false,
    phase: o.phase ?? "Running",
    podIP: o.ip,
    podIPs: [o.ip],
  };
}

/** The ARM id of a fixture user-assigned identity. */
export function identityArmId(name: string): string {
  return `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

/** The client id FakeTokenSource (and FakeIdentityCatalog) derive for a fixture identity. */
export function identityClientId(name: string): string {
  return fakeIdentityRecord(identityArmId(name)).clientId;
}

/** Options of {@link makeIdentity}. */
export interface IdentityOptions {
  readonly name: string;
  readonly namespace?: string;
  readonly type?: 0 | 1 | 2;
  readonly clientId?: string;
  readonly tenantId?: string;
  readonly secretRef?: SecretRef;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly resourceVersion?: string;
}

/** An AzureIdentity; type 0 by default, with the ARM id and client id FakeTokenSource knows. */
export function makeIdentity(o: IdentityOptions): AzureIdentity {
  const namespace = o.namespace ?? "default";
  const type = o.type ?? 0;
  return {
    kind: "AzureIdentity",
    metadata: meta(o.name, namespace, {
      annotations: o.annotations ?? {},
      ...(o.resourceVersion !== undefined ? { resourceVersion: o.resourceVersion } : {}),
    }),
    spec: {
      type,
      resourceID: type === 0 ? identityArmId(o.name) : "",
      clientID: o.clientId ?? identityClientId(o.name),
      tenantID: o.tenantId ?? (type === 0 ? "" : "11111111-1111-4111-8111-111111111111"),
      ...(o.secretRef !== undefined ? { clientPassword: o.secretRef } : {}),
      auxiliaryTenantIDs: [],
      adEndpoint: "",
      adResourceID: "",
      serviceAccounts: [],
    },
  };
}

/** An AzureIdentityBinding of `identity` for pods labelled `selector`, in the identity's namespace. */
export function makeBinding(identity: AzureIdentity, selector: string, name = `${identity.metadata.name}-binding`): AzureIdentityBinding {
  return { kind: "AzureIdentityBinding", metadata: meta(name, identity.metadata.namespace), spec: { azureIdentity: identity.metadata.name, selector } };
}

/** The AzureAssignedIdentity MIC would write for `pod`, `identity` and `binding`, in namespace `default`. */
export function makeAssigned(
  pod: PodView,
  identity: AzureIdentity,
  binding: AzureIdentityBinding,
  status: AssignedIdentityWireStatus = "Assigned",
  namespace = "default",
): AzureAssignedIdentity {
  const name = assignedIdentityName(pod.metadata.name, pod.metadata.namespace, identity.metadata.name);
  return {
    kind: "AzureAssignedIdentity",
    metadata: meta(name, namespace, { labels: { nodename: pod.nodeName } }),
    spec: { azureIdentityRef: identity, azureBindingRef: binding, pod: pod.metadata.name, podNamespace: pod.metadata.namespace, nodeName: pod.nodeName },
    status,
  };
}

/** An AzurePodIdentityException for pods with `podLabels` in `namespace`. */
export function makeException(name: string, namespace: string, podLabels: Readonly<Record<string, string>>): AzurePodIdentityException {
  return { kind: "AzurePodIdentityException", metadata: meta(name, namespace), spec: { podLabels } };
}

/**
 * Puts a pod bound to a type 0 identity into the cluster: identity, binding, pod and (standard mode) its
 * AAI with `status`; allows the identity on the fake IMDS. Returns the objects.
 */
export function bindPod(
  h: { readonly cluster: FakeCluster; readonly tokens: FakeTokenSource },
  o: { readonly pod: string; readonly ip: string; readonly identity: string; readonly namespace?: string; readonly status?: AssignedIdentityWireStatus | "none" },
): { pod: PodView; identity: AzureIdentity; binding: AzureIdentityBinding } {
  const namespace = o.namespace ?? "default";
  const identity = h.cluster.apply("azureidentities", makeIdentity({ name: o.identity, namespace }));
  const binding = h.cluster.apply("azureidentitybindings", makeBinding(identity, `${o.identity}-selector`));
  const pod = h.cluster.apply("pods", makePod({ name: o.pod, namespace, ip: o.ip, selector: `${o.identity}-selector` }));
  h.tokens.allow(identity.spec.resourceID);
  if (o.status !== "none") h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, o.status ?? "Assigned"));
  return { pod, identity, binding };
}

/** The token URL for `resource` (and optional extra query). */
export function tokenUrl(resource = "https://management.azure.com/", extra = ""): string {
  return `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(resource)}${extra}`;
}
