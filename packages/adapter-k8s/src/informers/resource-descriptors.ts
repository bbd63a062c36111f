import {
  API_GROUP,
  API_VERSION,
  GROUP_VERSION,
  KIND,
  PLURAL,
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseAzurePodIdentityException,
  parseNode,
  parsePod,
  federatedTokenVolumeOfRawPod,
  keyVaultVolumesOfRawPod,
  ok,
  type AzureAssignedIdentity,
  type PodView,
  type Result,
  type ValidationError,
  type WatchedResource,
  type WatchedResources,
} from "@podid/core";
import type { KubeClient } from "../client/kube-client.js";
import type { KubeQuery } from "../client/kube-http.js";
import { assignedIdentityForCache, nodeForCache, podForCache, SharedValues } from "./cached-views.js";
import { ContentInterner, internEmbedded } from "./embedded-interner.js";
import type { ListQuery, RawListPage } from "./resource-informer.js";

/** How to list, watch and parse one resource podid reads. */
export interface ResourceDescriptor<R extends WatchedResource> {
  readonly resource: R;
  readonly kind: string;
  readonly apiVersion: string;
  /** Collection path across all namespaces. */
  readonly path: string;
  readonly parse: (raw: unknown) => Result<WatchedResources[R], ValidationError>;
  readonly listPage: (client: KubeClient, query: ListQuery) => Promise<RawListPage>;
  /**
   * The same collection within one namespace (namespaced list/watch paths, which a namespaced Role can
   * grant); absent for cluster-scoped resources.
   */
  readonly inNamespace?: (namespace: string) => { readonly path: string; readonly listPage: (client: KubeClient, query: ListQuery) => Promise<RawListPage> };
}

function rawPage(list: unknown): RawListPage {
  const record = (typeof list === "object" && list !== null ? list : {}) as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } };
  const token = record.metadata?.continue;
  return {
    items: Array.isArray(record.items) ? record.items : [],
    resourceVersion: typeof record.metadata?.resourceVersion === "string" ? record.metadata.resourceVersion : "",
    ...(typeof token === "string" ? { continueToken: token } : {}),
  };
}

/** The query of one list page: selectors, `limit` and `continue` as the API names them. */
function listQuery(query: ListQuery): KubeQuery {
  return {
    labelSelector: query.labelSelector,
    fieldSelector: query.fieldSelector,
    limit: query.limit,
    continue: query.continueToken,
  };
}

/**
 * A descriptor whose pages are fetched as raw JSON and handed to core's parser untouched: no typed
 * model, no `Date` revival, no re-serialisation (docs/adr/0011-lean-kube-access.md).
 */
function rawResource<R extends WatchedResource>(
  resource: R,
  kind: string,
  apiVersion: string,
  scope: { readonly path: string; readonly namespacedPath?: (namespace: string) => string },
  parse: (raw: unknown) => Result<WatchedResources[R], ValidationError>,
): ResourceDescriptor<R> {
  const pager =
    (path: string) =>
    async (client: KubeClient, query: ListQuery): Promise<RawListPage> =>
      rawPage(await client.request({ method: "GET", path, query: listQuery(query) }));
  const { namespacedPath } = scope;
  return {
    resource,
    kind,
    apiVersion,
    path: scope.path,
    parse,
    listPage: pager(scope.path),
    ...(namespacedPath !== undefined
      ? {
          inNamespace: (namespace: string) => {
            const path = namespacedPath(namespace);
            return { path, listPage: pager(path) };
          },
        }
      : {}),
  };
}

function customResource<R extends WatchedResource>(
  resource: R,
  kind: string,
  parse: (raw: unknown) => Result<WatchedResources[R], ValidationError>,
): ResourceDescriptor<R> {
  const base = `/apis/${API_GROUP}/${API_VERSION}`;
  return rawResource(
    resource,
    kind,
    GROUP_VERSION,
    { path: `${base}/${resource}`, namespacedPath: (namespace) => `${base}/namespaces/${encodeURIComponent(namespace)}/${resource}` },
    parse,
  );
}

/** Shared by every reader in the process: the copies are frozen and held weakly, so sharing is always safe. */
const EMBEDDED_COPIES = new ContentInterner();

/** Repeated strings, maps and lists of cached objects, shared by every reader in the process (all frozen or immutable). */
const SHARED_VALUES = new SharedValues();

/** `parse` followed by `trim` on success: what an informer stores (docs/adr/0018-mic-memory-and-event-budget.md). */
function forCache<T>(parse: (raw: unknown) => Result<T, ValidationError>, trim: (value: T, shared: SharedValues) => T): (raw: unknown) => Result<T, ValidationError> {
  return (raw) => {
    const parsed = parse(raw);
    return parsed.ok ? ok(trim(parsed.value, SHARED_VALUES)) : parsed;
  };
}

/** core's AzureAssignedIdentity parser, with the embedded identity and binding shared between AAIs. */
function parseSharingEmbedded(raw: unknown): Result<AzureAssignedIdentity, ValidationError> {
  const parsed = parseAzureAssignedIdentity(raw);
  return parsed.ok ? ok(assignedIdentityForCache(internEmbedded(EMBEDDED_COPIES, parsed.value), SHARED_VALUES)) : parsed;
}

/** {@link parsePodWithKeyVaultVolumes} as the pod informer stores it (trimmed like every cached pod). */
export const parseCachedPodWithKeyVaultVolumes = forCache((raw) => parsePodWithKeyVaultVolumes(raw), podForCache);

/**
 * core's Pod parser plus the pod's Key Vault volumes (`keyVaultVolumesOfRawPod`), read while the raw object is
 * at hand: the informer keeps only the parsed view, never the pod spec (docs/adr/0015-nmi-reads-only-what-it-uses.md),
 * and the scoped `/host/token` needs to know which pods mount one (docs/adr/0019-scoped-host-token.md). Pods
 * without one get no extra field.
 */
export function parsePodWithKeyVaultVolumes(raw: unknown): Result<PodView, ValidationError> {
  const parsed = parsePod(raw);
  if (!parsed.ok) return parsed;
  const keyVaultVolumes = keyVaultVolumesOfRawPod(raw);
  return keyVaultVolumes === undefined ? parsed : ok({ ...parsed.value, keyVaultVolumes });
}

/** Which volume summaries the pod informer keeps besides core's parsed pod (NMI's options; MIC keeps none). */
export interface PodVolumeSummaries {
  /** `PodView.keyVaultVolumes` (the scoped `/host/token`). */
  readonly keyVault: boolean;
  /** `PodView.federatedTokenVolume` (federated identities, docs/adr/0021-federated-identities.md). */
  readonly federatedToken: boolean;
}

/**
 * core's Pod parser plus the volume summaries `summaries` asks for, read while the raw object is at hand (the
 * informer keeps only the parsed view, never the pod spec: docs/adr/0015-nmi-reads-only-what-it-uses.md). Pods
 * without such volumes get no extra field.
 */
export function parsePodWithVolumes(raw: unknown, summaries: PodVolumeSummaries): Result<PodView, ValidationError> {
  const parsed = summaries.keyVault ? parsePodWithKeyVaultVolumes(raw) : parsePod(raw);
  if (!parsed.ok || !summaries.federatedToken) return parsed;
  const federatedTokenVolume = federatedTokenVolumeOfRawPod(raw);
  return federatedTokenVolume === undefined ? parsed : ok({ ...parsed.value, federatedTokenVolume });
}

/**
 * The pod parser the informer uses for `summaries`, trimmed like every cached pod; core's plain parser when
 * none is asked for, so MIC pays nothing for NMI's summaries.
 */
export function cachedPodParser(summaries: PodVolumeSummaries): ((raw: unknown) => Result<PodView, ValidationError>) | undefined {
  if (!summaries.keyVault && !summaries.federatedToken) return undefined;
  if (summaries.keyVault && !summaries.federatedToken) return parseCachedPodWithKeyVaultVolumes;
  return forCache((raw) => parsePodWithVolumes(raw, summaries), podForCache);
}

/** The six resources of core's `WatchedResources`, with core's parsers. */
export const RESOURCE_DESCRIPTORS: { readonly [R in WatchedResource]: ResourceDescriptor<R> } = {
  pods: rawResource("pods", "Pod", "v1", { path: "/api/v1/pods", namespacedPath: (namespace) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` }, forCache(parsePod, podForCache)),
  nodes: rawResource("nodes", "Node", "v1", { path: "/api/v1/nodes" }, forCache(parseNode, nodeForCache)),
  azureidentities: customResource(PLURAL.AzureIdentity, KIND.AzureIdentity, (raw) => parseAzureIdentity(raw)),
  azureidentitybindings: customResource(PLURAL.AzureIdentityBinding, KIND.AzureIdentityBinding, (raw) => parseAzureIdentityBinding(raw)),
  azureassignedidentities: customResource(PLURAL.AzureAssignedIdentity, KIND.AzureAssignedIdentity, parseSharingEmbedded),
  azurepodidentityexceptions: customResource(PLURAL.AzurePodIdentityException, KIND.AzurePodIdentityException, parseAzurePodIdentityException),
};

/** Every resource name, in a stable order. */
export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  "pods",
  "nodes",
  "azureidentities",
  "azureidentitybindings",
  "azureassignedidentities",
  "azurepodidentityexceptions",
];
