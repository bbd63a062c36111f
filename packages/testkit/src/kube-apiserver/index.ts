/**
 * The fake kube-apiserver of @podid/testkit: a loopback HTTP server real Kubernetes clients accept, for
 * conformance tests of adapters and as the embedded cluster of simulations.
 * @packageDocumentation
 */
export {
  FakeKubeApiServer,
  type AppliedObject,
  type DropWatchesOptions,
  type ExpireHistoryOptions,
  type FakeKubeApiServerOptions,
} from "./fake-kube-apiserver.js";
export { FakeKubeStore } from "./fake-kube-store.js";
export type { FailWritesOptions, InjectedWriteStatus } from "./faults.js";
export { buildKubeconfig, type KubeconfigOptions } from "./kubeconfig.js";
export type { KubeObject } from "./json.js";
export type { RequestRecord } from "./request-handler.js";
export type { DropMode } from "./watch-hub.js";
export { generateSelfSignedTls, type ServerTls } from "./self-signed-tls.js";
export type { OpenIdConfiguration, ServiceAccountJwk } from "./service-account-issuer.js";
