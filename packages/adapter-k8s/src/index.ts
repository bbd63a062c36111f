/**
 * @podid/adapter-k8s — binds @podid/core's Kubernetes ports to the Kubernetes API: a lean rate-limited
 * client (raw JSON over Node's HTTP client; kubeconfig parsing and exec/token-file auth from
 * @kubernetes/client-node's light modules), self-healing list/watch informers behind `KubeReaderPort`,
 * AzureAssignedIdentity writes in the original's wire format, Lease leader election driving core's
 * state machine, and an Event recorder with aggregation. Nothing reachable from here loads
 * client-node's root or generated APIs; the typed client lives in the `./client-node` subpath
 * (docs/adr/0011-lean-kube-access.md).
 *
 * Everything exported is named here on purpose (no `export *`); modules not listed are internal.
 * `public-surface.test.ts` pins the list.
 * @packageDocumentation
 */

// --- Kubernetes client ---------------------------------------------------------------------------
// kubeconfig loading, a rate-limited raw-JSON client, and error description.
export { describeError, parseStatusBody } from "./client/kube-api-error.js";
export type { KubeStatusBody } from "./client/kube-api-error.js";
export type { ThrottleRetryOptions } from "./client/kube-call.js";
export { KubeClient } from "./client/kube-client.js";
export type { KubeClientOptions, KubeRequestOptions } from "./client/kube-client.js";
export { KubeConfig, kubeConfigSourceFrom, loadKubeConfig } from "./client/kube-config.js";
export type { KubeCluster, KubeConfigSource, KubeContext, KubeUser } from "./client/kube-config.js";
export { KubeHttpError } from "./client/kube-http.js";
export type { KubeHttpRequest, KubeQuery } from "./client/kube-http.js";
export type { RequestClass } from "./client/token-bucket.js";

// --- Informers: KubeReaderPort -------------------------------------------------------------------
// Self-healing list/watch informers behind core's KubeReaderPort.
export type { BackoffOptions } from "./informers/backoff.js";
export { KubeInformerReader } from "./informers/kube-informer-reader.js";
export type { KubeInformerReaderOptions } from "./informers/kube-informer-reader.js";
export type { InformerStats } from "./informers/resource-informer.js";
export { toWireJson } from "./informers/wire-json.js";
export { parsePodWithKeyVaultVolumes, parsePodWithVolumes } from "./informers/resource-descriptors.js";
export type { PodVolumeSummaries } from "./informers/resource-descriptors.js";

// --- Projected service-account tokens: ServiceAccountTokenReaderPort ------------------------------
// kubelet's pods directory, for NMI's federated identities (docs/adr/0021-federated-identities.md).
export { DEFAULT_KUBELET_PODS_DIR, KubeletServiceAccountTokenReader } from "./kubelet/kubelet-service-account-token-reader.js";
export type { KubeletServiceAccountTokenReaderOptions } from "./kubelet/kubelet-service-account-token-reader.js";

// --- Service-account issuer discovery ------------------------------------------------------------
// The issuer MIC's federated identity credentials trust (docs/adr/0021-federated-identities.md).
export { OPENID_CONFIGURATION_PATH, readServiceAccountIssuer } from "./discovery/service-account-issuer.js";

// --- SecretProviderClass reads: SecretProviderClassReaderPort -------------------------------------
// On-demand GETs with a short cache, for NMI's scoped /host/token (no watch).
export {
  KubeSecretProviderClassReader,
  SECRET_PROVIDER_CLASS_TTL_MS,
  secretProviderClassView,
} from "./secret-provider-classes/kube-secret-provider-class-reader.js";
export type { KubeSecretProviderClassReaderOptions } from "./secret-provider-classes/kube-secret-provider-class-reader.js";

// --- AzureAssignedIdentity writes: AssignedIdentityWriterPort ------------------------------------
export { KubeAssignedIdentityWriter } from "./writers/kube-assigned-identity-writer.js";
export type { KubeAssignedIdentityWriterOptions } from "./writers/kube-assigned-identity-writer.js";

// --- Leader election over a Lease ----------------------------------------------------------------
// Drives core's elector state machine with a Lease (LeaseStorePort).
export { LeaderElector } from "./leader/leader-elector.js";
export type { LeaderElectorOptions } from "./leader/leader-elector.js";
export { createMicLeaderElector } from "./leader/mic-leader-election.js";
export type { MicLeaderElectionOptions } from "./leader/mic-leader-election.js";

// --- Events: EventRecorderPort -------------------------------------------------------------------
export type { EventCorrelatorOptions } from "./events/event-correlator.js";
export { DEFAULT_MAX_QUEUED_EVENTS, KubeEventRecorder } from "./events/kube-event-recorder.js";
export type { KubeEventRecorderOptions, KubeEventRecorderStats } from "./events/kube-event-recorder.js";

// --- Support -------------------------------------------------------------------------------------
export { systemClock } from "./support/system-clock.js";
