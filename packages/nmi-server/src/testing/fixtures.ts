import {
  assignedIdentityName,
  BINDING_LABEL,
  err,
  ok,
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
import { fakeIdentityRecord, FakeCluster, FakeTokenSource, RecordingLogger, RecordingMetrics, VirtualClock } from "@podid/testkit";
import { buildNmiApp, type NmiApp } from "../app/build-nmi-app.js";
import { defineNmiAppConfig, type NmiAppConfig } from "../app/nmi-app-config.js";
import type { ForwardedResponse, ForwardRequest, ImdsForwarder } from "../proxy/http-forwarder.js";

/**
 * Builders of cluster objects and a ready-made NMI harness on testkit's fakes, shared by the tests, the fuzz
 * test and the benchmark.
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

/** A forwarder that records requests and answers `200 {"proxied":true}` (or what `answer` returns). */
export class RecordingForwarder implements ImdsForwarder {
  /** Every forwarded request, oldest first. */
  readonly requests: ForwardRequest[] = [];
  readonly #answer: (request: ForwardRequest) => ForwardedResponse | undefined;

  /** `answer` may return `undefined` to simulate an unreachable IMDS. */
  constructor(answer?: (request: ForwardRequest) => ForwardedResponse | undefined) {
    this.#answer =
      answer ??
      (() => ({ status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: new TextEncoder().encode('{"proxied":true}') }));
  }

  /** Records `request` and answers it (or fails as an unreachable IMDS would). */
  async forward(request: ForwardRequest) {
    this.requests.push(request);
    const response = this.#answer(request);
    return response === undefined ? err({ kind: "upstreamFailed" as const, message: "connect ECONNREFUSED" }) : ok(response);
  }

  /** Nothing to release. */
  close(): void {}
}

/** Everything a test needs: the fakes, the app and the recorders. */
export interface NmiHarness {
  readonly cluster: FakeCluster;
  readonly tokens: FakeTokenSource;
  readonly clock: VirtualClock;
  readonly logger: RecordingLogger;
  readonly metrics: RecordingMetrics;
  readonly forwarder: RecordingForwarder;
  readonly config: NmiAppConfig;
  readonly app: NmiApp;
}

/** Options of {@link createHarness}. */
export interface HarnessOptions {
  readonly config?: Partial<NmiAppConfig>;
  readonly forwarder?: RecordingForwarder;
  /** Latency of every token-source answer, in virtual ms (default 0). */
  readonly tokenLatencyMs?: number;
  readonly tokenLifetimeSeconds?: number;
  /**
   * Forward over real HTTP to `config.metadataAddress:metadataPort` (a loopback stand-in) instead of the
   * recording forwarder (which then stays empty).
   */
  readonly httpForwarding?: boolean;
}

/** An NMI app over a FakeCluster, a FakeTokenSource (allow-set mode) and a VirtualClock. */
export function createHarness(options: HarnessOptions = {}): NmiHarness {
  const clock = new VirtualClock();
  const cluster = new FakeCluster({ clock });
  const tokens = new FakeTokenSource({
    clock,
    ...(options.tokenLatencyMs !== undefined ? { latencyMs: options.tokenLatencyMs } : {}),
    ...(options.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
  });
  const logger = new RecordingLogger({ clock });
  const metrics = new RecordingMetrics();
  const forwarder = options.forwarder ?? new RecordingForwarder();
  const config = defineNmiAppConfig({ nodeName: TEST_NODE, ...(options.config ?? {}) });
  const deps = { kube: cluster, tokenSource: tokens, clock, logger, metrics };
  const app = buildNmiApp(options.httpForwarding === true ? deps : { ...deps, forwarder }, config);
  return { cluster, tokens, clock, logger, metrics, forwarder, config, app };
}

/**
 * Puts a pod bound to a type 0 identity into the cluster: identity, binding, pod and (standard mode) its
 * AAI with `status`; allows the identity on the fake IMDS. Returns the objects.
 */
export function bindPod(
  h: Pick<NmiHarness, "cluster" | "tokens">,
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
