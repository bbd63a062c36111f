/**
 * `@podid/adapter-k8s/client-node` — the typed @kubernetes/client-node client for tools such as the
 * `podid` CLI. Importing this subpath loads client-node's root (every generated API and model class,
 * about 90 MB of RSS); the MIC and NMI daemons use the lean client of the package root instead
 * (docs/adr/0011-lean-kube-access.md).
 * @packageDocumentation
 */
export { TypedKubeClient, TYPED_USER_AGENT } from "./typed-kube-client.js";
export type { TypedKubeClientOptions } from "./typed-kube-client.js";
export { loadTypedKubeConfig } from "./typed-kube-config.js";
