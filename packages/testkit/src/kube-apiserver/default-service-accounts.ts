/**
 * The part of kube-controller-manager's ServiceAccount controller a cluster is never without: every
 * namespace has a ServiceAccount `default`, created when the namespace appears and re-created when someone
 * deletes it. Pods that name no service account run as `default`, so TokenRequests for it must find it.
 *
 * Like the real controller it acts after the change that triggered it, as a separate write (a microtask
 * later, so watchers see the namespace's ADDED event before the service account's).
 * @packageDocumentation
 */
import { stringAt } from "./json.js";
import type { ResourceApi } from "./resource-api.js";
import { ApiError } from "./status.js";

/** The name of the service account every namespace gets. */
export const DEFAULT_SERVICE_ACCOUNT = "default";

/** Creates `default` in `namespace` when the namespace exists (and is not being deleted) and lacks it. */
export function ensureDefaultServiceAccount(api: ResourceApi, namespace: string): void {
  const namespaces = api.registry.lookup("", "v1", "namespaces");
  const serviceAccounts = api.registry.lookup("", "v1", "serviceaccounts");
  if (namespaces === undefined || serviceAccounts === undefined) return;
  const ns = api.store.get("namespaces", undefined, namespace);
  if (ns === undefined || ns.metadata["deletionTimestamp"] !== undefined) return;
  if (api.store.get("serviceaccounts", namespace, DEFAULT_SERVICE_ACCOUNT) !== undefined) return;
  try {
    api.create(serviceAccounts, namespace, { metadata: { name: DEFAULT_SERVICE_ACCOUNT } });
  } catch (error) {
    // A concurrent create won the race: the account exists, which is all this controller wants.
    if (!(error instanceof ApiError) || error.code !== 409) throw error;
  }
}

/**
 * Keeps a `default` ServiceAccount in every namespace of `api`'s store; returns a function that stops it.
 * Existing namespaces are handled at once.
 */
export function startDefaultServiceAccounts(api: ResourceApi): () => void {
  for (const ns of api.store.list("namespaces")) ensureDefaultServiceAccount(api, stringAt(ns.metadata, "name") ?? "");
  return api.store.subscribe((event) => {
    if (event.resource === "namespaces" && event.type !== "DELETED") {
      const name = stringAt(event.object.metadata, "name") ?? "";
      queueMicrotask(() => ensureDefaultServiceAccount(api, name));
    } else if (event.resource === "serviceaccounts" && event.type === "DELETED" && stringAt(event.object.metadata, "name") === DEFAULT_SERVICE_ACCOUNT) {
      const namespace = stringAt(event.object.metadata, "namespace") ?? "";
      queueMicrotask(() => ensureDefaultServiceAccount(api, namespace));
    }
  });
}
