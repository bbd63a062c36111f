/**
 * @podid/adapter-k8s — binds @podid/core's Kubernetes ports to @kubernetes/client-node 2.x:
 * a rate-limited client, self-healing informers behind `KubeReaderPort`, AzureAssignedIdentity writes
 * in the original's wire format, Lease leader election driving core's state machine, and an Event
 * recorder with aggregation.
 * @packageDocumentation
 */
export * from "./support/system-clock.js";
export * from "./support/silent-logger.js";
export * from "./client/kube-config.js";
export * from "./client/token-bucket.js";
export * from "./client/concurrency-limiter.js";
export * from "./client/middleware.js";
export * from "./client/kube-client.js";
export * from "./client/kube-api-error.js";
export * from "./client/kube-call.js";
export * from "./informers/backoff.js";
export * from "./informers/object-index.js";
export * from "./informers/informer-watch.js";
export * from "./informers/invalid-object-reporter.js";
export * from "./informers/resource-informer.js";
export * from "./informers/resource-descriptors.js";
export * from "./informers/secret-data.js";
export * from "./informers/wire-json.js";
export * from "./informers/kube-informer-reader.js";
export * from "./writers/assigned-identity-body.js";
export * from "./writers/kube-assigned-identity-writer.js";
export * from "./leader/lease-wire.js";
export * from "./leader/kube-lease-store.js";
export * from "./leader/leader-elector.js";
export * from "./leader/mic-leader-election.js";
export * from "./events/event-correlator.js";
export * from "./events/kube-event-recorder.js";
