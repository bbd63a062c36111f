import {
  attributeCaller,
  err,
  indexAssignedIdentitiesByPod,
  indexLiveIdentityObjects,
  type AssignedIdentitiesByPod,
  type AzureAssignedIdentity,
  type AzureIdentityBinding,
  type IndexedLiveIdentityObjects,
  normalizeIpAddress,
  podRef,
  verifyCallerBinding,
  type AttributionError,
  type AzureIdentity,
  type AzurePodIdentityException,
  type HttpHeaders,
  type IdentitySource,
  type KubeReaderPort,
  type MetricsPort,
  type PodRef,
  type PodView,
  type Result,
  type WatchedResource,
  type WatchedResources,
} from "@podid/core";
import type { CallerInterfaces } from "../anti-spoofing-keeper.js";
import type { NmiConfig } from "../config/nmi-config.js";
import { NMI_METRIC } from "../nmi-metrics.js";
import { outcome, type FlowResult } from "./7-response-audit.js";

/**
 * Token path, step 3 of 8 — attribution: which pod is calling. The caller is the connection's peer
 * address (`socket.remoteAddress`; forwarding headers are never trusted) matched against this node's pods
 * by core's `attributeCaller`, which applies every rule (phase, hostNetwork, terminating, ambiguity).
 * IP reuse: an address can pass from one pod to another while a request waits (for assignment or for
 * upstream), so the caller is attributed again after every wait and must still be the same pod — same
 * UID — or the request is refused (core's `verifyCallerBinding`). The informer caches are read through
 * {@link ClusterView}, which also hands the decision (step 4) the identity source of the operation mode.
 * @packageDocumentation
 */

/** A request as the token path sees it. */
export interface PathRequest {
  readonly method: string;
  /** The request target exactly as received (path and query), never normalised. */
  readonly rawTarget: string;
  readonly headers: HttpHeaders;
  /** The connection's peer address (`socket.remoteAddress`; proxies are never trusted). */
  readonly remoteAddress: string;
  readonly body?: Uint8Array;
  /** Aborts when the client goes away or NMI shuts down (built on first read; see `RequestSignal`). */
  readonly signal: AbortSignal;
  /** Aborts only when NMI shuts down (to tell the two apart). */
  readonly shutdownSignal: AbortSignal;
}

/** Core's attribution of a source address: the pod, or why there is none. */
export type Attributed = Result<PodView, AttributionError>;

/** Refusal because the pod behind the request changed (IP reuse or pod re-created) while it was served. */
export function callerChanged(metrics: MetricsPort, expected: PodRef, actual: PodRef): FlowResult {
  metrics.increment(NMI_METRIC.callerChanged, {});
  return outcome({ kind: "callerUnknown", error: { kind: "callerChanged", expected, actual } });
}

/**
 * After a wait: the refusal when the caller found `now` is not the pod `expected` (no pod, or another
 * one), else `undefined`.
 */
export function callerStillBound(metrics: MetricsPort, expected: PodRef, now: Attributed): FlowResult | undefined {
  if (!now.ok) return outcome({ kind: "callerUnknown", error: now.error });
  const bound = verifyCallerBinding(expected, now.value);
  return bound.ok ? undefined : callerChanged(metrics, expected, podRef(now.value));
}

/** The key of a cluster-wide list among the kept lists (no namespace is empty). */
const ALL_NAMESPACES = "";

/** The configuration {@link ClusterView} reads. */
export type ClusterViewOptions = Pick<NmiConfig, "nodeName" | "operationMode" | "forceNamespaced">;

/**
 * A read-only view of the caches for one node. The IP index is rebuilt from `list("pods")` after any pod
 * event (and while the caches are not yet synced). This relies on the port's contract that a change is
 * visible through `list` by the time its event is delivered, which informers guarantee (the store is
 * updated before handlers run) and `FakeCluster` does too.
 */
export class ClusterView {
  readonly #kube: KubeReaderPort;
  readonly #options: ClusterViewOptions;
  readonly #interfaces: CallerInterfaces | undefined;
  #byIp: Map<string, PodView[]> | undefined;
  /** Lists read since the last event of their resource, by namespace (see {@link changed}). */
  readonly #lists = new Map<WatchedResource, Map<string, readonly unknown[]>>();
  /** Core's indexes of the kept lists, rebuilt when a list they were built from is replaced (see {@link identitySource}). */
  #liveIndex: { readonly of: readonly [readonly AzureIdentityBinding[], readonly AzureIdentity[]]; readonly value: IndexedLiveIdentityObjects } | undefined;
  #aaisByPod: { readonly of: readonly AzureAssignedIdentity[]; readonly value: AssignedIdentitiesByPod } | undefined;
  /** The standard-mode identity source of the kept lists (see {@link identitySource}). */
  #standardSource: { readonly of: readonly [readonly unknown[], readonly unknown[], readonly unknown[]]; readonly value: IdentitySource } | undefined;

  /**
   * A view over `kube` for the node and mode in `options`. With `interfaces` (anti-spoofing, see
   * docs/adr/0010-anti-spoofing.md) a pod is attributed only when its IP is bound to the host interface or
   * bridge port it enters through — then the node's rules guarantee the packet came from that pod.
   */
  constructor(kube: KubeReaderPort, options: ClusterViewOptions, interfaces?: CallerInterfaces) {
    this.#kube = kube;
    this.#options = options;
    this.#interfaces = interfaces;
  }

  /** The node name callers must be scheduled on. */
  get nodeName(): string {
    return this.#options.nodeName;
  }

  /** Marks the IP index stale (call on every pod event). */
  podsChanged(): void {
    this.#byIp = undefined;
  }

  /**
   * Drops the kept lists of `resource` (call on every event of it, before anything decides again). Until then
   * a decision reads the same arrays: the port lists a change by the time its event arrives, so between two
   * events of a resource its list cannot differ — and listing it copies every cached object.
   */
  changed(resource: Exclude<WatchedResource, "pods">): void {
    this.#lists.delete(resource);
  }

  /** Every pod of this node in the cache. */
  podsOnNode(): readonly PodView[] {
    return this.#kube.list("pods").filter((p) => p.nodeName === this.#options.nodeName);
  }

  /**
   * Core's attribution of `sourceIp` among this node's pods. Only the pods holding that IP are passed to
   * `attributeCaller`, which applies every rule (phase, hostNetwork, terminating, ambiguity) itself.
   */
  attribute(sourceIp: string): Result<PodView, AttributionError> {
    // Core remembers canonical forms, so the same few pod addresses are parsed once.
    const address = normalizeIpAddress(sourceIp);
    const candidates = address === undefined ? [] : (this.#index().get(address) ?? []);
    const attributed = attributeCaller(sourceIp, candidates, { nodeName: this.#options.nodeName });
    if (!attributed.ok || this.#interfaces === undefined || address === undefined) return attributed;
    // Anti-spoofing: the source IP proves the pod only when the IP is bound to its interface (never a guess).
    const bound = this.#interfaces.check(address);
    if (bound.ok) return attributed;
    const pod = podRef(attributed.value);
    this.#interfaces.refused(pod, address, bound.reason);
    return err({ kind: "interfaceUnresolved", sourceIp: address, pod, reason: bound.reason });
  }

  /**
   * Anti-spoofing: before attributing, a pod of this node whose IP is not bound to its interface yet waits
   * (bounded) for one prompt re-sync; other addresses (unknown callers) never trigger one.
   */
  async settleInterface(sourceIp: string): Promise<void> {
    const address = normalizeIpAddress(sourceIp);
    if (this.#interfaces === undefined || address === undefined || this.#interfaces.isBound(address)) return;
    if (!attributeCaller(sourceIp, this.#index().get(address) ?? [], { nodeName: this.#options.nodeName }).ok) return;
    await this.#interfaces.settle(address);
  }

  /** The identity source of the configured mode, for a pod in `podNamespace`. */
  identitySource(podNamespace: string): IdentitySource {
    if (this.#options.operationMode === "managed") {
      return {
        mode: "managed",
        bindings: this.#list("azureidentitybindings", podNamespace),
        identities: this.#list("azureidentities", podNamespace),
      };
    }
    // Bindings and identities of every namespace: an AAI is honoured only when they still grant it.
    const assignedIdentities = this.#list("azureassignedidentities");
    const bindings = this.#list("azureidentitybindings");
    const identities = this.#list("azureidentities");
    // The same for every pod while the kept lists are the same arrays (like the indexes below): built once, not per decision.
    const kept = this.#standardSource;
    if (kept !== undefined && kept.of[0] === assignedIdentities && kept.of[1] === bindings && kept.of[2] === identities) return kept.value;
    const value: IdentitySource = {
      mode: "standard",
      assignedIdentities,
      assignedIdentitiesByPod: this.#assignedIdentitiesByPod(assignedIdentities),
      ...this.#indexedLive(bindings, identities),
      options: { forceNamespaced: this.#options.forceNamespaced },
    };
    this.#standardSource = { of: [assignedIdentities, bindings, identities], value };
    return value;
  }

  /**
   * Core's selector and identity indexes of these lists. Kept while the lists are the same arrays — the kept
   * lists live until their resource's next event — so a request reuses them instead of indexing every
   * binding and identity again; the indexes never change a decision (core's property tests).
   */
  #indexedLive(bindings: readonly AzureIdentityBinding[], identities: readonly AzureIdentity[]): IndexedLiveIdentityObjects {
    const kept = this.#liveIndex;
    if (kept !== undefined && kept.of[0] === bindings && kept.of[1] === identities) return kept.value;
    const value = indexLiveIdentityObjects({ bindings, identities });
    this.#liveIndex = { of: [bindings, identities], value };
    return value;
  }

  /** Core's by-pod index of this AAI list, kept like {@link #indexedLive}. */
  #assignedIdentitiesByPod(assignedIdentities: readonly AzureAssignedIdentity[]): AssignedIdentitiesByPod {
    const kept = this.#aaisByPod;
    if (kept !== undefined && kept.of === assignedIdentities) return kept.value;
    const value = indexAssignedIdentitiesByPod(assignedIdentities);
    this.#aaisByPod = { of: assignedIdentities, value };
    return value;
  }

  /** Every AzureIdentity of the cluster: identities an excepted pod must not obtain (core's `decideException`). */
  azureIdentities(): readonly AzureIdentity[] {
    return this.#list("azureidentities");
  }

  /** The AzurePodIdentityExceptions of a namespace (only those can except its pods). */
  exceptions(namespace: string): readonly AzurePodIdentityException[] {
    return this.#list("azurepodidentityexceptions", namespace);
  }

  /** `kube.list(resource, namespace)`, kept until {@link changed} (only once the caches are synced). */
  #list<R extends Exclude<WatchedResource, "pods">>(resource: R, namespace?: string): readonly WatchedResources[R][] {
    let byNamespace = this.#lists.get(resource);
    const key = namespace ?? ALL_NAMESPACES;
    const kept = byNamespace?.get(key);
    if (kept !== undefined) return kept as readonly WatchedResources[R][];
    const listed = this.#kube.list(resource, namespace);
    if (this.#kube.hasSynced()) {
      if (byNamespace === undefined) this.#lists.set(resource, (byNamespace = new Map()));
      byNamespace.set(key, listed);
    }
    return listed;
  }

  #index(): Map<string, PodView[]> {
    if (this.#byIp !== undefined) return this.#byIp;
    const index = new Map<string, PodView[]>();
    for (const pod of this.podsOnNode()) {
      const addresses = new Set<string>();
      for (const ip of [pod.podIP, ...pod.podIPs]) {
        const normalized = ip === "" ? undefined : normalizeIpAddress(ip);
        if (normalized !== undefined) addresses.add(normalized);
      }
      for (const address of addresses) {
        const list = index.get(address);
        if (list === undefined) index.set(address, [pod]);
        else list.push(pod);
      }
    }
    // Until the caches are synced a later list may hold more pods: do not keep the index.
    if (this.#kube.hasSynced()) this.#byIp = index;
    return index;
  }
}
