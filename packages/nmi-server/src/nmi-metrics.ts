import { METRIC, METRIC_LABEL } from "@podid/core";
import type { MetricDefinition } from "@podid/daemon-shell";

/**
 * Every metric NMI emits: the original's names (for dashboard parity, `_count` suffixes and all) and
 * podid's additions (`podid_nmi_*`, counters ending in `_total`). Label values are always drawn from
 * bounded sets; see `BoundedLabel` for the two that come from the cluster (namespace, resource).
 * @packageDocumentation
 */

/** podid's own NMI metrics. */
export const NMI_METRIC = {
  /** Token-cache answers by result: hit, refresh (hit that started a refresh), joined, miss, rejection. */
  tokenCacheRequests: "podid_nmi_token_cache_requests_total",
  /** Requests refused with 429: `scope` pod (per-pod limit) or upstream (IMDS budget queue full). */
  rateLimited: "podid_nmi_rate_limited_total",
  /** Final decisions by kind (issued, forward, badRequest, notFound, …). */
  decisions: "podid_nmi_decisions_total",
  /** Requests refused because the pod at the source IP changed while they were processed (IP reuse). */
  callerChanged: "podid_nmi_caller_changed_total",
  /** Time spent waiting for an identity to become Assigned, by outcome (assigned, timeout, aborted, …). */
  assignmentWait: "podid_nmi_assignment_wait_seconds",
  /** 1 while the interception rules are installed and intact. */
  interceptionActive: "podid_nmi_interception_active",
  /** Interception repairs after drift. */
  interceptionRepairs: "podid_nmi_interception_repairs_total",
  /** Failed netfilter operations, by operation. */
  interceptionErrors: "podid_nmi_interception_errors_total",
  /** Pod IPs of this node whose host interface / bridge port could not be resolved (docs/adr/0010-anti-spoofing.md). */
  unresolvedInterfaces: "podid_nmi_unresolved_pod_interfaces",
  /** Token requests refused because the caller's interface is not resolved. */
  interfaceUnresolvedRefusals: "podid_nmi_interface_unresolved_refusals_total",
  /** Responses of forwarded requests, by status class (2xx … 5xx, or `error`). */
  proxied: "podid_nmi_proxied_requests_total",
  /** Upstream token calls started (every call, success or failure). */
  upstreamCalls: "podid_nmi_upstream_calls_total",
  /** Tokens refused because an AzureAssignedIdentity is not backed by a live binding and identity, by reason. */
  unbackedAssignment: "podid_nmi_unbacked_assignments_total",
} as const;

/** `imds_operations_*` operation types of the original (`pkg/metrics`). */
export const IMDS_OPERATION = {
  /** System-assigned identity from IMDS. */
  systemAssigned: "adal_token_msi",
  /** User-assigned identity from IMDS. */
  userAssigned: "adal_token_msi_userassignedid",
  /** Service principal from AAD. */
  servicePrincipal: "adal_token",
} as const;

/** `kubernetes_api_operations_errors_count` operation types NMI uses. */
export const KUBE_OPERATION = { getSecret: "get_secret", getPodList: "get_pod_list" } as const;

/** Request-latency buckets: NMI answers cached tokens in well under a millisecond and waits up to 100 s. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 100];
/** Upstream buckets as the original's IMDS histogram (0.01 … 10 s) plus a finer low end. */
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const L = METRIC_LABEL;

/** Definitions of every metric NMI emits, by name. */
export const NMI_METRIC_DEFINITIONS: Readonly<Record<string, MetricDefinition>> = {
  [METRIC.nmiOperationsDuration]: {
    type: "histogram",
    help: "Duration of NMI requests (operation_type is one of a fixed set of routes, never the raw path)",
    labelNames: [L.operationType, L.statusCode, L.namespace, L.resource],
    buckets: REQUEST_BUCKETS,
  },
  [METRIC.imdsOperationsDuration]: {
    type: "histogram",
    help: "Duration of token requests to IMDS or AAD",
    labelNames: [L.operationType],
    buckets: UPSTREAM_BUCKETS,
  },
  [METRIC.imdsOperationsErrorsCount]: { type: "counter", help: "Failed token requests to IMDS or AAD", labelNames: [L.operationType] },
  [METRIC.kubernetesApiOperationsErrorsCount]: { type: "counter", help: "Failed Kubernetes API operations", labelNames: [L.operationType] },
  [NMI_METRIC.tokenCacheRequests]: { type: "counter", help: "Token cache answers by result", labelNames: ["result"] },
  [NMI_METRIC.rateLimited]: { type: "counter", help: "Requests answered 429 by scope", labelNames: ["scope"] },
  [NMI_METRIC.decisions]: { type: "counter", help: "Final NMI decisions by kind", labelNames: ["decision"] },
  [NMI_METRIC.unbackedAssignment]: { type: "counter", help: "Tokens refused: AzureAssignedIdentity not backed by a live binding and identity", labelNames: ["reason"] },
  [NMI_METRIC.callerChanged]: { type: "counter", help: "Requests refused because the pod at the source IP changed (IP reuse)", labelNames: [] },
  [NMI_METRIC.assignmentWait]: {
    type: "histogram",
    help: "Time requests waited for an identity to become Assigned",
    labelNames: ["outcome"],
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 80, 100],
  },
  [NMI_METRIC.interceptionActive]: { type: "gauge", help: "1 while the metadata interception is installed and intact", labelNames: [] },
  [NMI_METRIC.interceptionRepairs]: { type: "counter", help: "Interception repairs after drift", labelNames: [] },
  [NMI_METRIC.interceptionErrors]: { type: "counter", help: "Failed netfilter operations", labelNames: ["operation"] },
  [NMI_METRIC.unresolvedInterfaces]: { type: "gauge", help: "Pod IPs of this node whose host interface could not be resolved", labelNames: [] },
  [NMI_METRIC.interfaceUnresolvedRefusals]: { type: "counter", help: "Token requests refused: caller's interface not resolved", labelNames: [] },
  [NMI_METRIC.proxied]: { type: "counter", help: "Forwarded requests by upstream status class", labelNames: ["class"] },
  [NMI_METRIC.upstreamCalls]: { type: "counter", help: "Token calls made to IMDS or AAD", labelNames: [L.operationType] },
};
