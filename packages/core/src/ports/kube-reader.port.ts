import type { Result } from "../result.js";
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  AzurePodIdentityException,
  NodeView,
  PodView,
} from "../model/types.js";
import type { KubeError } from "./kube-errors.js";

/** The object types podid reads from the cluster, by resource name. */
export interface WatchedResources {
  readonly pods: PodView;
  readonly nodes: NodeView;
  readonly azureidentities: AzureIdentity;
  readonly azureidentitybindings: AzureIdentityBinding;
  readonly azureassignedidentities: AzureAssignedIdentity;
  readonly azurepodidentityexceptions: AzurePodIdentityException;
}

/** A resource name podid watches. */
export type WatchedResource = keyof WatchedResources;

/** One change to a watched object. For `deleted`, `object` is the last known state. */
export interface ResourceEvent<T> {
  readonly type: "added" | "modified" | "deleted";
  readonly object: T;
  /** The previous state for `modified` (the cache keeps it; the client library does not). */
  readonly previous?: T;
}

/** Stops a subscription. */
export type Unsubscribe = () => void;

/** Decoded data of a Secret (values already base64-decoded into bytes). */
export type SecretData = Readonly<Record<string, Uint8Array>>;

/**
 * Reads of cluster state from informer caches (adapter-k8s) or an in-memory store (testkit).
 * Objects that failed validation never appear here; the adapter reports them as Events.
 */
export interface KubeReaderPort {
  /** All cached objects of `resource`, optionally only those in `namespace`. */
  list<R extends WatchedResource>(resource: R, namespace?: string): readonly WatchedResources[R][];
  /** One cached object; cluster-scoped objects use namespace `""`. */
  get<R extends WatchedResource>(resource: R, namespace: string, name: string): WatchedResources[R] | undefined;
  /** Calls `handler` for every later change of `resource` until unsubscribed. */
  subscribe<R extends WatchedResource>(resource: R, handler: (event: ResourceEvent<WatchedResources[R]>) => void): Unsubscribe;
  /** True once every cache has completed its first list. */
  hasSynced(): boolean;
  /** Reads a Secret from the API (only for type 1/2 identities). */
  readSecret(namespace: string, name: string): Promise<Result<SecretData, KubeError>>;
}
