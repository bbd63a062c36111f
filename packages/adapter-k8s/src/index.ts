/**
 * @podid/adapter-k8s — binds @podid/core's Kubernetes ports to @kubernetes/client-node 2.x:
 * a rate-limited client, self-healing informers behind `KubeReaderPort`, AzureAssignedIdentity writes
 * in the original's wire format, Lease leader election driving core's state machine, and an Event
 * recorder with aggregation.
 *
 * Everything exported is named here on purpose (no `export *`); modules not listed are internal.
 * `public-surface.test.ts` pins the list.
 * @packageDocumentation
 */

// --- Kubernetes client ---------------------------------------------------------------------------
// kubeconfig loading, a rate-limited client over @kubernetes/client-node, and error description.
export { describeError, parseStatusBody } from "./client/kube-api-error.js";
export type { KubeStatusBody } from "./client/kube-api-error.js";
export type { ThrottleRetryOptions } from "./client/kube-call.js";
export { KubeClient } from "./client/kube-client.js";
export type { KubeClientOptions } from "./client/kube-client.js";
export { kubeConfigSourceFrom, loadKubeConfig } from "./client/kube-config.js";
export type { KubeConfigSource } from "./client/kube-config.js";

// --- Informers: KubeReaderPort -------------------------------------------------------------------
// Self-healing list/watch informers behind core's KubeReaderPort.
export type { BackoffOptions } from "./informers/backoff.js";
export { KubeInformerReader } from "./informers/kube-informer-reader.js";
export type { KubeInformerReaderOptions } from "./informers/kube-informer-reader.js";
export type { InformerStats } from "./informers/resource-informer.js";
export { toWireJson } from "./informers/wire-json.js";

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
export { KubeEventRecorder } from "./events/kube-event-recorder.js";
export type { KubeEventRecorderOptions } from "./events/kube-event-recorder.js";

// --- Support -------------------------------------------------------------------------------------
export { systemClock } from "./support/system-clock.js";
