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
  type Result,
  type ValidationError,
  type WatchedResource,
  type WatchedResources,
} from "@podid/core";
import type { KubeClient } from "../client/kube-client.js";
import type { ListQuery, RawListPage } from "./resource-informer.js";
import { toWireJson } from "./wire-json.js";

/** How to list, watch and parse one resource podid reads. */
export interface ResourceDescriptor<R extends WatchedResource> {
  readonly resource: R;
  readonly kind: string;
  readonly apiVersion: string;
  /** Collection path across all namespaces. */
  readonly path: string;
  readonly parse: (raw: unknown) => Result<WatchedResources[R], ValidationError>;
  readonly listPage: (client: KubeClient, query: ListQuery) => Promise<RawListPage>;
}

interface TypedList {
  readonly items: readonly unknown[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

function typedPage(list: TypedList): RawListPage {
  return {
    items: list.items.map(toWireJson),
    resourceVersion: list.metadata?.resourceVersion ?? "",
    ...(list.metadata?._continue !== undefined ? { continueToken: list.metadata._continue } : {}),
  };
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

function listParams(query: ListQuery): { labelSelector?: string; fieldSelector?: string; limit?: number; _continue?: string } {
  return {
    ...(query.labelSelector !== undefined ? { labelSelector: query.labelSelector } : {}),
    ...(query.fieldSelector !== undefined ? { fieldSelector: query.fieldSelector } : {}),
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
    ...(query.continueToken !== undefined ? { _continue: query.continueToken } : {}),
  };
}

function customResource<R extends WatchedResource>(
  resource: R,
  kind: string,
  parse: (raw: unknown) => Result<WatchedResources[R], ValidationError>,
): ResourceDescriptor<R> {
  return {
    resource,
    kind,
    apiVersion: GROUP_VERSION,
    path: `/apis/${API_GROUP}/${API_VERSION}/${resource}`,
    parse,
    listPage: async (client, query) =>
      rawPage(await client.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: resource, ...listParams(query) })),
  };
}

/** The six resources of core's `WatchedResources`, with core's parsers. */
export const RESOURCE_DESCRIPTORS: { readonly [R in WatchedResource]: ResourceDescriptor<R> } = {
  pods: {
    resource: "pods",
    kind: "Pod",
    apiVersion: "v1",
    path: "/api/v1/pods",
    parse: parsePod,
    listPage: async (client, query) => typedPage(await client.core.listPodForAllNamespaces(listParams(query))),
  },
  nodes: {
    resource: "nodes",
    kind: "Node",
    apiVersion: "v1",
    path: "/api/v1/nodes",
    parse: parseNode,
    listPage: async (client, query) => typedPage(await client.core.listNode(listParams(query))),
  },
  azureidentities: customResource(PLURAL.AzureIdentity, KIND.AzureIdentity, (raw) => parseAzureIdentity(raw)),
  azureidentitybindings: customResource(PLURAL.AzureIdentityBinding, KIND.AzureIdentityBinding, (raw) => parseAzureIdentityBinding(raw)),
  azureassignedidentities: customResource(PLURAL.AzureAssignedIdentity, KIND.AzureAssignedIdentity, parseAzureAssignedIdentity),
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
