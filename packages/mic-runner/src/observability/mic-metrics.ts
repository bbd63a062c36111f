import { METRIC, METRIC_LABEL } from "@podid/core";
import type { MetricDefinition } from "@podid/daemon-shell";

/**
 * MIC's Prometheus metrics: the original's names (core's `METRIC`, docs/compatibility.md#metric-names;
 * counters end in `_count` because the original exported them through OpenCensus) plus two podid gauges. Who records what:
 * adapter-k8s records the AzureAssignedIdentity write durations and counts, Kubernetes API errors and
 * new-leader counts; adapter-azure records the ARM operation durations and errors by `operation_type`
 * (`vm_get`, `vm_update`, `vmss_get`, `vmss_update`); the controller records cycles.
 * @packageDocumentation
 */

/** podid's own MIC gauges (`podid_` prefix, as core's naming rule asks for new metrics). */
export const MIC_GAUGE = {
  /** 1 while this replica leads and runs the controller, else 0. */
  leader: "podid_mic_leader",
  /** Identities ARM refused that are currently left out of PATCHes. */
  quarantinedIdentities: "podid_mic_quarantined_identities",
} as const;

/** podid's own MIC counters. */
export const MIC_COUNTER = {
  /**
   * Kubernetes Events not written because the Event queue was full (Events get only the client's rate-limit
   * tokens no other request waits for; adapter-k8s' `KubeEventRecorder` counts them).
   */
  eventsDropped: "podid_mic_events_dropped_total",
  /**
   * Federated identity credential writes sent to ARM for type-3 identities, by `operation_type` (`fic_create`,
   * `fic_delete`), retries included (docs/adr/0021-federated-identities.md).
   */
  federatedCredentialWrites: "podid_mic_federated_credential_writes_total",
} as const;

/** Kubernetes write latencies: milliseconds to seconds (the original's 0.01…10 s). */
const KUBE_WRITE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A planning pass takes milliseconds in podid; the original's cycles took up to 20 minutes (0.5…1200 s). */
const CYCLE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1200];
/** ARM GETs take tens of milliseconds, identity PATCHes tens of seconds, outliers minutes. */
const ARM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300, 600, 900];

const operation = [METRIC_LABEL.operationType];

/** Every metric MIC exposes, by name. */
export const MIC_METRIC_DEFINITIONS: Readonly<Record<string, MetricDefinition>> = {
  [METRIC.assignedIdentityAdditionDuration]: { type: "histogram", help: "Duration of AzureAssignedIdentity creations in seconds", labelNames: [], buckets: KUBE_WRITE_BUCKETS },
  [METRIC.assignedIdentityAdditionCount]: { type: "counter", help: "AzureAssignedIdentities created", labelNames: [] },
  [METRIC.assignedIdentityDeletionDuration]: { type: "histogram", help: "Duration of AzureAssignedIdentity deletions in seconds", labelNames: [], buckets: KUBE_WRITE_BUCKETS },
  [METRIC.assignedIdentityDeletionCount]: { type: "counter", help: "AzureAssignedIdentities deleted", labelNames: [] },
  [METRIC.assignedIdentityUpdateDuration]: { type: "histogram", help: "Duration of AzureAssignedIdentity updates in seconds", labelNames: [], buckets: KUBE_WRITE_BUCKETS },
  [METRIC.assignedIdentityUpdateCount]: { type: "counter", help: "AzureAssignedIdentities updated", labelNames: [] },
  [METRIC.micCycleDuration]: { type: "histogram", help: "Duration of MIC planning passes in seconds", labelNames: [], buckets: CYCLE_BUCKETS },
  [METRIC.micCycleCount]: { type: "counter", help: "MIC planning passes", labelNames: [] },
  [METRIC.micNewLeaderElectionCount]: { type: "counter", help: "Times this MIC became the leader", labelNames: [] },
  [METRIC.cloudProviderOperationsDuration]: { type: "histogram", help: "Duration of successful ARM operations in seconds", labelNames: operation, buckets: ARM_BUCKETS },
  [METRIC.cloudProviderOperationsErrorsCount]: { type: "counter", help: "Failed ARM operations", labelNames: operation },
  [METRIC.kubernetesApiOperationsErrorsCount]: { type: "counter", help: "Failed Kubernetes API operations", labelNames: operation },
  [MIC_GAUGE.leader]: { type: "gauge", help: "1 while this MIC is the leader and runs the controller", labelNames: [] },
  [MIC_GAUGE.quarantinedIdentities]: { type: "gauge", help: "Identities ARM refused, currently left out of PATCHes", labelNames: [] },
  [MIC_COUNTER.eventsDropped]: { type: "counter", help: "Kubernetes Events dropped because the Event queue was full", labelNames: [] },
  [MIC_COUNTER.federatedCredentialWrites]: { type: "counter", help: "Federated identity credential writes sent to ARM", labelNames: operation },
};
