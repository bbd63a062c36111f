/**
 * The built-in kinds the fake serves out of the box: the ones podid's controllers and kubectl need
 * (namespaces, nodes, pods, secrets, configmaps, events, leases, customresourcedefinitions), plus the kinds
 * of podid's own install (`deploy/`: service accounts, RBAC, deployments, daemon sets, disruption budgets) so
 * `kubectl apply` of the rendered manifests can be tested. Names, short names, scopes and subresources are
 * those of a real v1.29 kube-apiserver's discovery documents.
 * @packageDocumentation
 */
import { STANDARD_VERBS, type ResourceDefinition } from "./resource-definition.js";

function builtin(
  group: string,
  version: string,
  plural: string,
  kind: string,
  options: { namespaced: boolean; shortNames?: string[]; categories?: string[]; status?: boolean; verbs?: readonly string[] },
): ResourceDefinition {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: options.namespaced,
    shortNames: options.shortNames ?? [],
    categories: options.categories ?? [],
    verbs: options.verbs ?? STANDARD_VERBS,
    statusSubresource: options.status ?? false,
    strategicMerge: true,
  };
}

/** The built-in resource definitions, in discovery order. */
export const BUILTIN_RESOURCES: readonly ResourceDefinition[] = [
  builtin("", "v1", "configmaps", "ConfigMap", { namespaced: true, shortNames: ["cm"] }),
  builtin("", "v1", "events", "Event", { namespaced: true, shortNames: ["ev"] }),
  // Real namespaces have no deletecollection verb.
  builtin("", "v1", "namespaces", "Namespace", {
    namespaced: false,
    shortNames: ["ns"],
    status: true,
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  }),
  builtin("", "v1", "nodes", "Node", { namespaced: false, shortNames: ["no"], status: true }),
  builtin("", "v1", "pods", "Pod", { namespaced: true, shortNames: ["po"], categories: ["all"], status: true }),
  builtin("", "v1", "secrets", "Secret", { namespaced: true }),
  builtin("", "v1", "serviceaccounts", "ServiceAccount", { namespaced: true, shortNames: ["sa"] }),
  builtin("coordination.k8s.io", "v1", "leases", "Lease", { namespaced: true }),
  builtin("apps", "v1", "deployments", "Deployment", { namespaced: true, shortNames: ["deploy"], categories: ["all"], status: true }),
  builtin("apps", "v1", "daemonsets", "DaemonSet", { namespaced: true, shortNames: ["ds"], categories: ["all"], status: true }),
  builtin("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", { namespaced: true, shortNames: ["pdb"], status: true }),
  builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", { namespaced: false }),
  builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", { namespaced: false }),
  builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", { namespaced: true }),
  builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", { namespaced: true }),
  builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", {
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    status: true,
  }),
];

/** Namespaces a fresh cluster has (kubectl's default context namespace is `default`). */
export const INITIAL_NAMESPACES: readonly string[] = ["default", "kube-node-lease", "kube-public", "kube-system"];
