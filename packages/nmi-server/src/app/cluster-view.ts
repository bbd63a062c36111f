import {
  attributeCaller,
  normalizeIpAddress,
  type AttributionError,
  type AzurePodIdentityException,
  type IdentitySource,
  type KubeReaderPort,
  type PodView,
  type Result,
} from "@podid/core";
import type { OperationMode } from "../config/nmi-config.js";

/**
 * What the decision functions need from the informer caches, read through {@link KubeReaderPort}: the
 * node's pods (indexed by IP so attribution does not scan every pod on every request), the identity source
 * of the operation mode, and a namespace's exceptions. Nothing here decides anything; core does.
 * @packageDocumentation
 */

/** Options of {@link ClusterView}. */
export interface ClusterViewOptions {
  readonly nodeName: string;
  readonly operationMode: OperationMode;
  readonly forceNamespaced: boolean;
}

/**
 * A read-only view of the caches for one node. The IP index is rebuilt from `list("pods")` after any pod
 * event (and while the caches are not yet synced). This relies on the port's contract that a change is
 * visible through `list` by the time its event is delivered, which informers guarantee (the store is
 * updated before handlers run) and `FakeCluster` does too.
 */
export class ClusterView {
  readonly #kube: KubeReaderPort;
  readonly #options: ClusterViewOptions;
  #byIp: Map<string, PodView[]> | undefined;

  /** A view over `kube` for the node and mode in `options`. */
  constructor(kube: KubeReaderPort, options: ClusterViewOptions) {
    this.#kube = kube;
    this.#options = options;
  }

  /** The node name callers must be scheduled on. */
  get nodeName(): string {
    return this.#options.nodeName;
  }

  /** Marks the IP index stale (call on every pod event). */
  podsChanged(): void {
    this.#byIp = undefined;
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
    const address = normalizeIpAddress(sourceIp);
    const candidates = address === undefined ? [] : (this.#index().get(address) ?? []);
    return attributeCaller(sourceIp, candidates, { nodeName: this.#options.nodeName });
  }

  /** The identity source of the configured mode, for a pod in `podNamespace`. */
  identitySource(podNamespace: string): IdentitySource {
    if (this.#options.operationMode === "managed") {
      return {
        mode: "managed",
        bindings: this.#kube.list("azureidentitybindings", podNamespace),
        identities: this.#kube.list("azureidentities", podNamespace),
      };
    }
    return {
      mode: "standard",
      assignedIdentities: this.#kube.list("azureassignedidentities"),
      options: { forceNamespaced: this.#options.forceNamespaced },
    };
  }

  /** The AzurePodIdentityExceptions of a namespace (only those can except its pods). */
  exceptions(namespace: string): readonly AzurePodIdentityException[] {
    return this.#kube.list("azurepodidentityexceptions", namespace);
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
