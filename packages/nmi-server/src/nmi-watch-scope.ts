import type {
  KubeError,
  KubeReaderPort,
  ResourceEvent,
  Result,
  SecretData,
  Unsubscribe,
  WatchedResource,
  WatchedResources,
} from "@podid/core";
import type { NmiConfig } from "./config/nmi-config.js";

/**
 * What NMI lists and watches, derived from its configuration — only what its token path reads
 * (docs/compatibility.md, "What NMI watches and loads"):
 * - pods of its own node (`spec.nodeName` field selector);
 * - AzureAssignedIdentities of its node (`nodename` label, with `--enableScaleFeatures`, the default), and none
 *   in managed mode, where the decision never reads them;
 * - AzureIdentities and AzureIdentityBindings cluster-wide: every AAI is honoured only while its binding →
 *   identity chain still grants it, a binding may name an identity of any namespace, and an excepted pod must
 *   not obtain any identity an AzureIdentity of the cluster names;
 * - AzurePodIdentityExceptions only in the `--exception-namespaces` (one namespaced watch each), since
 *   exceptions anywhere else have no effect;
 * - never Nodes: nothing in NMI reads them.
 * @packageDocumentation
 */

/** The informers NMI runs. */
export interface NmiWatchScope {
  /** Resources of the node-scoped reader (exceptions are not among them; see `exceptionNamespaces`). */
  readonly resources: readonly WatchedResource[];
  /** The `spec.nodeName` the pod watch selects. */
  readonly podNodeName: string;
  /** The `nodename` label the AAI watch selects; absent: every AAI (`--enableScaleFeatures=false`). */
  readonly assignedIdentityNodeName?: string;
  /** One namespaced exception watch per namespace. */
  readonly exceptionNamespaces: readonly string[];
}

/** NMI's watch scope for `config`. */
export function nmiWatchScope(config: Pick<NmiConfig, "nodeName" | "operationMode" | "enableScaleFeatures" | "exceptionNamespaces">): NmiWatchScope {
  const standard = config.operationMode === "standard";
  return {
    resources: ["pods", ...(standard ? (["azureassignedidentities"] as const) : []), "azureidentities", "azureidentitybindings"],
    podNodeName: config.nodeName,
    ...(standard && config.enableScaleFeatures ? { assignedIdentityNodeName: config.nodeName } : {}),
    exceptionNamespaces: [...new Set(config.exceptionNamespaces)],
  };
}

/** A reader with a lifecycle (adapter-k8s's `KubeInformerReader` has this shape). */
export interface StartableKubeReader extends KubeReaderPort {
  /** The resources it watches. */
  readonly resources: readonly WatchedResource[];
  start(): void;
  stop(): Promise<void>;
  whenSynced(): Promise<void>;
}

const EXCEPTIONS = "azurepodidentityexceptions";

/**
 * One {@link KubeReaderPort} over NMI's informers: the node-scoped reader plus one exception reader per
 * exception namespace. Resources no reader watches read as empty and their subscriptions never fire —
 * deliberately, because the scope leaves out only what NMI's configuration never reads.
 */
export class ScopedKubeReader implements KubeReaderPort {
  readonly #node: StartableKubeReader;
  readonly #exceptions: ReadonlyMap<string, StartableKubeReader>;

  /** `node` watches `NmiWatchScope.resources`; `exceptionsByNamespace` holds one exception reader per exception namespace. */
  constructor(node: StartableKubeReader, exceptionsByNamespace: ReadonlyMap<string, StartableKubeReader>) {
    this.#node = node;
    this.#exceptions = exceptionsByNamespace;
  }

  /** Starts every informer and resolves once all completed their first list. */
  async start(): Promise<void> {
    for (const reader of this.#readers()) reader.start();
    await Promise.all(this.#readers().map((reader) => reader.whenSynced()));
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.all(this.#readers().map((reader) => reader.stop()));
  }

  /** Cached objects; exceptions of a namespace come from that namespace's reader (none outside the exception namespaces). */
  list<R extends WatchedResource>(resource: R, namespace?: string): readonly WatchedResources[R][] {
    if (resource !== EXCEPTIONS) return this.#watches(resource) ? this.#node.list(resource, namespace) : [];
    if (namespace !== undefined) return this.#exceptions.get(namespace)?.list(resource, namespace) ?? [];
    return [...this.#exceptions.values()].flatMap((reader) => reader.list(resource));
  }

  /** One cached object, routed like {@link list}. */
  get<R extends WatchedResource>(resource: R, namespace: string, name: string): WatchedResources[R] | undefined {
    if (resource === EXCEPTIONS) return this.#exceptions.get(namespace)?.get(resource, namespace, name);
    return this.#watches(resource) ? this.#node.get(resource, namespace, name) : undefined;
  }

  /** Changes of `resource`; for exceptions, of every exception namespace. */
  subscribe<R extends WatchedResource>(resource: R, handler: (event: ResourceEvent<WatchedResources[R]>) => void): Unsubscribe {
    if (resource === EXCEPTIONS) {
      const unsubscribes = [...this.#exceptions.values()].map((reader) => reader.subscribe(resource, handler));
      return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
    }
    return this.#watches(resource) ? this.#node.subscribe(resource, handler) : () => undefined;
  }

  /** True once every reader completed its first list. */
  hasSynced(): boolean {
    return this.#readers().every((reader) => reader.hasSynced());
  }

  /** A Secret read through the node reader's client (type 1/2 identities). */
  readSecret(namespace: string, name: string): Promise<Result<SecretData, KubeError>> {
    return this.#node.readSecret(namespace, name);
  }

  #watches(resource: WatchedResource): boolean {
    return this.#node.resources.includes(resource);
  }

  #readers(): StartableKubeReader[] {
    return [this.#node, ...this.#exceptions.values()];
  }
}
