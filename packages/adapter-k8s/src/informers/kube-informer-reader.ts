import {
  NODENAME_LABEL,
  err,
  normalizeIpAddress,
  ok,
  type AzureAssignedIdentity,
  type EventRecorderPort,
  type KubeError,
  type KubeReaderPort,
  type LoggerPort,
  type PodView,
  type ResourceEvent,
  type Result,
  type SecretData,
  type Unsubscribe,
  type WatchedResource,
  type WatchedResources,
} from "@podid/core";
import type { KubeClient } from "../client/kube-client.js";
import { toKubeError } from "../client/kube-api-error.js";
import { silentLogger } from "../support/silent-logger.js";
import type { BackoffOptions } from "./backoff.js";
import { InvalidObjectReporter } from "./invalid-object-reporter.js";
import { ObjectIndex } from "./object-index.js";
import { cachedPodParser, RESOURCE_DESCRIPTORS, WATCHED_RESOURCES } from "./resource-descriptors.js";
import { ResourceInformer, type InformerStats } from "./resource-informer.js";
import { decodeSecretData } from "./secret-data.js";

/** Settings of a {@link KubeInformerReader}. */
export interface KubeInformerReaderOptions {
  readonly client: KubeClient;
  /** Resources to watch (default: all six). MIC needs all; NMI needs pods, AAIs and, in managed mode, identities/bindings/exceptions. */
  readonly resources?: readonly WatchedResource[];
  /** Watch only the pods on this node (`fieldSelector=spec.nodeName=<node>`), as the original NMI did. */
  readonly podNodeName?: string;
  /**
   * Keep each pod's Key Vault volumes (`PodView.keyVaultVolumes`), summarised from `spec.volumes` when the pod
   * is decoded (NMI, for the scoped `/host/token`; docs/adr/0019-scoped-host-token.md). Default off.
   */
  readonly podKeyVaultVolumes?: boolean;
  /**
   * Keep each pod's federated token volume (`PodView.federatedTokenVolume`: its projected service-account token
   * with audience `api://AzureADTokenExchange`), summarised from `spec.volumes` when the pod is decoded (NMI, for
   * federated identities; docs/adr/0021-federated-identities.md). Default off.
   */
  readonly podFederatedTokenVolume?: boolean;
  /** Watch only AzureAssignedIdentities labelled `nodename=<node>`, as the original NMI did. */
  readonly assignedIdentityNodeName?: string;
  /**
   * Watch namespaced resources in this namespace only, through the namespaced list/watch paths (NMI reads
   * AzurePodIdentityExceptions of its `--exception-namespaces` only); cluster-scoped resources are unaffected.
   */
  readonly namespace?: string;
  /** Where Warning Events about invalid objects go (reason `InvalidObject`). */
  readonly events?: EventRecorderPort;
  readonly logger?: LoggerPort;
  /** Relist when no event, bookmark or list was seen for this long (default 5 min). */
  readonly watchdogMs?: number;
  readonly backoff?: BackoffOptions;
  /** Cap on the reconnect delay after a watch closes cleanly without events (default 30 s). */
  readonly maxReconnectDelayMs?: number;
  readonly pageSize?: number;
  readonly random?: () => number;
}

type Informers = { [R in WatchedResource]?: ResourceInformer<WatchedResources[R]> };

const objectKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The canonical addresses of a pod (`podIP` and `podIPs`, IPv4-mapped IPv6 folded), for the IP index. */
function podAddresses(pod: PodView): readonly string[] {
  const out: string[] = [];
  for (const ip of [pod.podIP, ...pod.podIPs]) {
    const normalized = ip === "" ? undefined : normalizeIpAddress(ip);
    if (normalized !== undefined) out.push(normalized);
  }
  return out;
}

/**
 * core's {@link KubeReaderPort} over list/watch informers ({@link ResourceInformer}): cached reads of
 * pods, nodes and the four custom resources, change subscriptions with `previous` on `modified`,
 * invalid objects skipped and reported once per version as a log line plus a Warning Event, and the
 * lookups NMI and MIC need on hot paths kept as indexes (pods by IP, AAIs by pod and by `nodename`).
 *
 * Secrets are **not** watched: {@link readSecret} GETs the one Secret a type 1/2 identity names, when
 * a token is requested. Reasons: the original's RBAC grants only `get` on secrets (a watch needs
 * cluster-wide `list`/`watch`, which would put every Secret of the cluster into the memory of the NMI on
 * every node); core's token cache makes these reads rare; and a read always sees a rotated secret.
 */
export class KubeInformerReader implements KubeReaderPort {
  readonly #client: KubeClient;
  readonly #logger: LoggerPort;
  readonly #informers: Informers = {};
  // The indexes are built on first use and kept in step from then on: MIC never asks for them, and at
  // 10,000 AAIs they would hold a bucket per pod (docs/adr/0018-mic-memory-and-event-budget.md).
  #podsByIp: ObjectIndex<PodView> | undefined;
  #assignedByPod: ObjectIndex<AzureAssignedIdentity> | undefined;
  #assignedByNode: ObjectIndex<AzureAssignedIdentity> | undefined;

  /** Creates (but does not start) one informer per resource in `options.resources`. */
  constructor(options: KubeInformerReaderOptions) {
    this.#client = options.client;
    this.#logger = options.logger ?? silentLogger;
    const reporter = new InvalidObjectReporter({ logger: this.#logger, ...(options.events !== undefined ? { events: options.events } : {}) });
    const resources = options.resources ?? WATCHED_RESOURCES;
    for (const resource of new Set(resources)) {
      this.#create(resource, options, reporter);
    }
  }

  /** Starts every informer. */
  start(): void {
    for (const informer of this.#all()) informer.start();
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.all(this.#all().map((informer) => informer.stop()));
  }

  /** True once every informer has completed its first list (readiness). */
  hasSynced(): boolean {
    return this.#all().every((informer) => informer.synced);
  }

  /** Resolves once {@link hasSynced} is true. */
  whenSynced(): Promise<void> {
    return Promise.all(this.#all().map((informer) => informer.whenSynced())).then(() => undefined);
  }

  /** The resources this reader watches. */
  get resources(): readonly WatchedResource[] {
    return this.#all().map((informer) => informer.resource as WatchedResource);
  }

  /** Counters of each informer. */
  stats(): Readonly<Partial<Record<WatchedResource, InformerStats>>> {
    return Object.fromEntries(this.#all().map((informer) => [informer.resource, informer.stats]));
  }

  /** Forces every informer to relist now (e.g. after the process was paused). */
  relistAll(reason: string): void {
    for (const informer of this.#all()) informer.relist(reason);
  }

  /** Cached valid objects of `resource` (none for a resource this reader does not watch). */
  list<R extends WatchedResource>(resource: R, namespace?: string): readonly WatchedResources[R][] {
    return this.#informer(resource)?.list(namespace) ?? [];
  }

  /** One cached valid object, if present. */
  get<R extends WatchedResource>(resource: R, namespace: string, name: string): WatchedResources[R] | undefined {
    return this.#informer(resource)?.get(namespace, name);
  }

  /** Later changes of `resource`; `modified` events carry `previous` from the cache. */
  subscribe<R extends WatchedResource>(resource: R, handler: (event: ResourceEvent<WatchedResources[R]>) => void): Unsubscribe {
    const informer = this.#informer(resource);
    if (informer === undefined) {
      this.#logger.warn({ resource }, "subscribe to a resource this reader does not watch; no events will arrive");
      return () => undefined;
    }
    return informer.subscribe(handler);
  }

  /**
   * Pods whose `podIP`/`podIPs` contain `ip` (any form `normalizeIpAddress` accepts), whatever their
   * phase; core's `attributeCaller` decides which of them may be the caller.
   */
  podsByIP(ip: string): readonly PodView[] {
    const normalized = normalizeIpAddress(ip);
    if (normalized === undefined) return [];
    this.#podsByIp ??= this.#indexOf("pods", podAddresses);
    return this.#podsByIp.get(normalized);
  }

  /** AzureAssignedIdentities whose `spec.podNamespace`/`spec.pod` name this pod. */
  assignedIdentitiesForPod(podNamespace: string, podName: string): readonly AzureAssignedIdentity[] {
    this.#assignedByPod ??= this.#indexOf("azureassignedidentities", (a) => [objectKey(a.spec.podNamespace, a.spec.pod)]);
    return this.#assignedByPod.get(objectKey(podNamespace, podName));
  }

  /** AzureAssignedIdentities labelled `nodename=<nodeName>`. */
  assignedIdentitiesOnNode(nodeName: string): readonly AzureAssignedIdentity[] {
    this.#assignedByNode ??= this.#indexOf("azureassignedidentities", (a) => {
      const node = a.metadata.labels[NODENAME_LABEL];
      return node === undefined ? [] : [node];
    });
    return this.#assignedByNode.get(nodeName);
  }

  /** GETs a Secret and decodes its data (see the class comment for why secrets are not watched). */
  async readSecret(namespace: string, name: string): Promise<Result<SecretData, KubeError>> {
    try {
      const secret = (await this.#client.request({
        method: "GET",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      })) as { data?: unknown } | undefined;
      const data = secret?.data;
      return ok(decodeSecretData(typeof data === "object" && data !== null ? (data as Record<string, unknown>) : undefined));
    } catch (error) {
      const kubeError = toKubeError(error, this.#client.clock.now());
      this.#logger.warn({ namespace, name, error: kubeError.kind }, "reading secret failed");
      return err(kubeError);
    }
  }

  #informer<R extends WatchedResource>(resource: R): ResourceInformer<WatchedResources[R]> | undefined {
    return this.#informers[resource] as ResourceInformer<WatchedResources[R]> | undefined;
  }

  #all(): ResourceInformer<WatchedResources[WatchedResource]>[] {
    return WATCHED_RESOURCES.flatMap((r) => {
      const informer = this.#informers[r];
      return informer === undefined ? [] : [informer as ResourceInformer<WatchedResources[WatchedResource]>];
    });
  }

  #create<R extends WatchedResource>(resource: R, options: KubeInformerReaderOptions, reporter: InvalidObjectReporter): void {
    const descriptor = RESOURCE_DESCRIPTORS[resource];
    const fieldSelector = resource === "pods" && options.podNodeName !== undefined ? `spec.nodeName=${options.podNodeName}` : undefined;
    const labelSelector =
      resource === "azureassignedidentities" && options.assignedIdentityNodeName !== undefined
        ? `${NODENAME_LABEL}=${options.assignedIdentityNodeName}`
        : undefined;
    const client = this.#client;
    const scoped = options.namespace === undefined ? undefined : descriptor.inNamespace?.(options.namespace);
    const listPage = scoped?.listPage ?? descriptor.listPage;
    const podParser = cachedPodParser({ keyVault: options.podKeyVaultVolumes === true, federatedToken: options.podFederatedTokenVolume === true });
    const informer = new ResourceInformer<WatchedResources[R]>({
      resource,
      kind: descriptor.kind,
      apiVersion: descriptor.apiVersion,
      path: scoped?.path ?? descriptor.path,
      ...(labelSelector !== undefined ? { labelSelector } : {}),
      ...(fieldSelector !== undefined ? { fieldSelector } : {}),
      listPage: (query) => listPage(client, query),
      parse: (resource === "pods" ? (podParser as typeof descriptor.parse | undefined) : undefined) ?? descriptor.parse,
      openWatch: (path, query, signal) => client.openWatch(path, query, signal),
      clock: client.clock,
      logger: this.#logger.child({ informer: resource }),
      onInvalid: (invalid) => void reporter.report(invalid),
      onForget: (namespace, name) => reporter.forget(descriptor.kind, namespace, name),
      ...(options.watchdogMs !== undefined ? { watchdogMs: options.watchdogMs } : {}),
      ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
      ...(options.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: options.maxReconnectDelayMs } : {}),
      ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
      ...(options.random !== undefined ? { random: options.random } : {}),
    });
    (this.#informers as Record<WatchedResource, unknown>)[resource] = informer;
  }

  /** A new index over `resource`'s cached objects, kept in step with the cache from now on. */
  #indexOf<R extends "pods" | "azureassignedidentities">(resource: R, keysOf: (object: WatchedResources[R]) => readonly string[]): ObjectIndex<WatchedResources[R]> {
    const index = new ObjectIndex<WatchedResources[R]>(keysOf);
    const informer = this.#informer(resource);
    for (const object of informer?.list() ?? []) index.set(objectKey(object.metadata.namespace, object.metadata.name), object);
    informer?.subscribe((event) => this.#index(index, event));
    return index;
  }

  #index<T extends { readonly metadata: { readonly namespace: string; readonly name: string } }>(index: ObjectIndex<T>, event: ResourceEvent<T>): void {
    const key = objectKey(event.object.metadata.namespace, event.object.metadata.name);
    if (event.type === "deleted") index.delete(key);
    else index.set(key, event.object);
  }
}
