/**
 * Prometheus metric names, kept identical to aad-pod-identity's (`pkg/metrics/metrics.go`, namespace
 * `aadpodidentity`) so existing dashboards and alerts keep working. They come from OpenCensus, which is
 * why counters end in `_count` rather than `_total`; metrics podid adds use `_total` and the `podid_` prefix.
 */
export const METRIC = {
  assignedIdentityAdditionDuration: "aadpodidentity_assigned_identity_addition_duration_seconds",
  assignedIdentityAdditionCount: "aadpodidentity_assigned_identity_addition_count",
  assignedIdentityDeletionDuration: "aadpodidentity_assigned_identity_deletion_duration_seconds",
  assignedIdentityDeletionCount: "aadpodidentity_assigned_identity_deletion_count",
  assignedIdentityUpdateDuration: "aadpodidentity_assigned_identity_update_duration_seconds",
  assignedIdentityUpdateCount: "aadpodidentity_assigned_identity_update_count",
  micCycleDuration: "aadpodidentity_mic_cycle_duration_seconds",
  micCycleCount: "aadpodidentity_mic_cycle_count",
  micNewLeaderElectionCount: "aadpodidentity_mic_new_leader_election_count",
  cloudProviderOperationsDuration: "aadpodidentity_cloud_provider_operations_duration_seconds",
  cloudProviderOperationsErrorsCount: "aadpodidentity_cloud_provider_operations_errors_count",
  kubernetesApiOperationsErrorsCount: "aadpodidentity_kubernetes_api_operations_errors_count",
  nmiOperationsDuration: "aadpodidentity_nmi_operations_duration_seconds",
  imdsOperationsDuration: "aadpodidentity_imds_operations_duration_seconds",
  imdsOperationsErrorsCount: "aadpodidentity_imds_operations_errors_count",
} as const;

/** Label names of the original's metrics. */
export const METRIC_LABEL = {
  operationType: "operation_type",
  statusCode: "status_code",
  namespace: "namespace",
  resource: "resource",
} as const;

/** `operation_type` values of the cloud-provider metrics. */
export const CLOUD_OPERATION = {
  vmGet: "vm_get",
  vmUpdate: "vm_update",
  vmssGet: "vmss_get",
  vmssUpdate: "vmss_update",
} as const;

/**
 * `operation_type` values of the NMI metrics. The original used the raw request path, which let any pod
 * create unbounded label values; podid maps every request to one of these fixed routes.
 */
export const NMI_OPERATION = {
  token: "/metadata/identity/oauth2/token",
  hostToken: "/host/token",
  instance: "/metadata/instance",
  proxy: "proxy",
  rejected: "rejected",
} as const;
