/**
 * @podid/core — every rule of per-pod Azure identity as pure functions and state machines, plus the
 * ports (interfaces) that adapters implement. No runtime dependencies and no Node.js imports, so it
 * runs anywhere and custom controllers can embed it.
 *
 * This file is the package's table of contents: everything exported is named here on purpose (no
 * `export *`). Modules not listed are internal. `public-surface.test.ts` pins the list, so a change to it
 * shows up in review.
 * @packageDocumentation
 */

// --- Results -------------------------------------------------------------------------------------
// Every fallible rule returns a Result instead of throwing.
export { err, ok } from "./result.js";
export type { Err, Ok, Result } from "./result.js";

// --- Model: podid's CRDs, pods and nodes ---------------------------------------------------------
// API constants, the validated model types, and the wire (JSON) shapes they come from.
export {
  API_GROUP,
  API_VERSION,
  ASSIGNED_IDENTITY_FINALIZER,
  BEHAVIOR_ANNOTATION,
  BEHAVIOR_NAMESPACED,
  BINDING_LABEL,
  DEFAULT_ASSIGNED_IDENTITY_NAMESPACE,
  GROUP_VERSION,
  KIND,
  NODENAME_LABEL,
  PLURAL,
} from "./model/constants.js";
export { IdentityType } from "./model/types.js";
export type {
  AssignedIdentityState,
  AssignedIdentityWireStatus,
  AzureAssignedIdentity,
  AzureAssignedIdentitySpec,
  AzureIdentity,
  AzureIdentityBinding,
  AzureIdentityBindingSpec,
  AzureIdentitySpec,
  AzurePodIdentityException,
  NodeView,
  ObjectMeta,
  PodPhase,
  PodView,
  SecretRef,
} from "./model/types.js";
export { describeValidationError } from "./model/validation.js";
export type { ValidationError, ValidationIssue, ValidationReason } from "./model/validation.js";
export type {
  WireAzureAssignedIdentity,
  WireAzureIdentity,
  WireAzureIdentityBinding,
  WireAzurePodIdentityException,
  WireGroupVersion,
  WireNode,
  WireObjectMeta,
  WirePod,
} from "./model/wire-types.js";

// --- Model: parsing raw API objects --------------------------------------------------------------
// camelCase or the original's PascalCase in; a typed model or a ValidationError out.
export { parseAzureAssignedIdentity } from "./model/parse-azure-assigned-identity.js";
export { parseAzureIdentityBinding } from "./model/parse-azure-identity-binding.js";
export { parseAzureIdentity } from "./model/parse-azure-identity.js";
export type { ParseOptions } from "./model/parse-azure-identity.js";
export { parseAzurePodIdentityException } from "./model/parse-azure-pod-identity-exception.js";
export { parseNode } from "./model/parse-node.js";
export { parseObjectMeta } from "./model/parse-object-meta.js";
export type { ObjectMetaOptions } from "./model/parse-object-meta.js";
export { parsePod } from "./model/parse-pod.js";

// --- Model: serialising to the wire format -------------------------------------------------------
export { serialiseAzureAssignedIdentity } from "./model/serialise-azure-assigned-identity.js";
export { serialiseAzureIdentityBinding } from "./model/serialise-azure-identity-binding.js";
export { serialiseAzureIdentity } from "./model/serialise-azure-identity.js";
export { serialiseAzurePodIdentityException } from "./model/serialise-azure-pod-identity-exception.js";
export { serialiseNode } from "./model/serialise-node.js";
export { serialisePod } from "./model/serialise-pod.js";

// --- Azure resource ids --------------------------------------------------------------------------
// User-assigned identity ids, node provider ids and VM/VMSS ids, compared case-insensitively.
export { computeTargetId, computeTargetKey, parseComputeTargetId } from "./azure-ids/compute-target.js";
export type { AzureIdError, AzureIdErrorReason } from "./azure-ids/errors.js";
export { parseProviderId } from "./azure-ids/provider-id.js";
export type {
  ComputeIdentityState,
  ComputeTarget,
  IdentityPatch,
  ParsedProviderId,
  ResourceIdentityType,
  UserAssignedIdentityId,
} from "./azure-ids/types.js";
export {
  formatUserAssignedIdentityId,
  identityKey,
  parseUserAssignedIdentityId,
  sameIdentityId,
} from "./azure-ids/user-assigned-identity-id.js";

// --- Matching: which pod gets which identity -----------------------------------------------------
// Bindings, selectors, exceptions and the `aadpodidbinding` label; near misses for `podid explain`.
export { bindingMatchesPod } from "./matching/binding-matches-pod.js";
export { matchAssignments } from "./matching/desired-assignments.js";
export type { MatchInput } from "./matching/desired-assignments.js";
export { isPodExcepted } from "./matching/exceptions.js";
export { assignedIdentityName, isNamespacedIdentity } from "./matching/namespaced.js";
export {
  nearBindingLabelKeys,
  nearMatchingBindings,
  selectorCanMatchPodLabel,
  selectorNearMiss,
} from "./matching/near-matches.js";
export type { NearMatchingBinding, NearMiss, SelectorNearMiss } from "./matching/near-matches.js";
export { compareByNamespaceName } from "./matching/order.js";
export type { NamespacedObject } from "./matching/order.js";
export { podBindingLabel } from "./matching/pod-binding-label.js";
export { isAssignmentRelevantPodChange } from "./matching/relevant-change.js";
export type { DesiredAssignment, MatchingOptions, MatchResult, MatchSkip } from "./matching/types.js";

// --- Reconcile: planning and executing MIC passes ------------------------------------------------
// The planner, the per-VM/VMSS identity deltas and ARM PATCH bodies, the executor over ports, and the
// quarantine and throttle gates that keep one refused identity or a 429 from blocking the rest.
export { classifyArmError, parseRetryAfter } from "./reconcile/arm-errors.js";
export type { ArmFailure } from "./reconcile/arm-errors.js";
export { managedIdentityKey } from "./reconcile/assignment-comparison.js";
export { BINDING_EVENT } from "./reconcile/binding-events.js";
export { executeReconcilePlan, PlanExecution } from "./reconcile/execute-plan.js";
export type {
  ExecutionReport,
  ExecutorOptions,
  ExecutorPorts,
  FederatedOutcome,
  TargetOutcome,
  WriteFailure,
} from "./reconcile/execute-plan.js";
export { planIdentityPatches } from "./reconcile/identity-delta.js";
export type { IdentityIntent, IdentityPatchPlan } from "./reconcile/identity-delta.js";
export { immutableIdentitySet, isImmutableIdentity } from "./reconcile/immutable-identities.js";
export { recoverLeavingCreated } from "./reconcile/leaving-recovery.js";
export type { LeavingRecovery, LeavingRecoveryInput, WaitingLeavingObject } from "./reconcile/leaving-recovery.js";
export type { UnresolvedNode } from "./reconcile/node-targets.js";
export { planReconcile } from "./reconcile/plan.js";
export type {
  FederatedAwaiting,
  FederatedIdentityPlan,
  HeldAssignment,
  ReconcileInput,
  ReconcilePlan,
  ReconcilePolicy,
  TargetPlan,
} from "./reconcile/plan.js";
export { EMPTY_QUARANTINE, IdentityQuarantine, quarantineIdentities, releaseIdentities } from "./reconcile/quarantine.js";
export type { QuarantineEntry, QuarantinePolicy, QuarantineReason, QuarantineState } from "./reconcile/quarantine.js";
export { closeGate, gateOpensAt, OPEN_GATES, pruneGates } from "./reconcile/throttle-gates.js";
export type { ThrottleGates } from "./reconcile/throttle-gates.js";

// --- Federated identities: service-account trust and federated credentials (MIC side) ----------
// Type-3 identities (docs/adr/0021-federated-identities.md): which pods an identity trusts, the subject and
// name of each federated identity credential, which credentials podid owns, and the per-identity plan.
export { FEDERATED_CREDENTIAL_NAME_PATTERN, federatedCredentialName } from "./federated/credential-name.js";
export { planFederatedCredentials, planIdentityCredentials } from "./federated/credential-plan.js";
export type {
  FederatedCredentialsInput,
  IdentityCredentialInput,
  IdentityCredentialPlan,
  ReusedCredential,
} from "./federated/credential-plan.js";
export { isPodidOwnedCredential } from "./federated/ownership.js";
export {
  FEDERATED_TOKEN_AUDIENCE,
  MAX_FEDERATED_CREDENTIALS_PER_IDENTITY,
  parseServiceAccountSubject,
  serviceAccountSubject,
} from "./federated/service-account-subject.js";
export { isServiceAccountTrusted, podServiceAccountName } from "./federated/service-account-trust.js";
export { isServiceAccountName } from "./model/service-account-name.js";
export { federatedIdentityKey } from "./reconcile/assignment-comparison.js";
export { FederatedCredentialExecutor } from "./reconcile/federated-credentials.js";
export type { CredentialSyncOutcome, FederatedCredentialOptions } from "./reconcile/federated-credentials.js";
export { assignedIdentityObject, FEDERATED_EVENT, podObject } from "./reconcile/federated-events.js";

// --- AzureAssignedIdentity lifecycle -------------------------------------------------------------
export { lifecycleStateOf } from "./lifecycle/assigned-identity-lifecycle.js";
export type { IllegalTransition, LifecycleEvent, LifecycleState } from "./lifecycle/assigned-identity-lifecycle.js";

// --- NMI: routing, caller attribution and token decisions ----------------------------------------
// The pure core of an IMDS-compatible server (see README, "NMI decisions").
export { attributeCaller, findPodOnNode, podRef } from "./nmi/caller-attribution.js";
export type { AttributionError, AttributionOptions, PodRef } from "./nmi/caller-attribution.js";
export { verifyCallerBinding } from "./nmi/caller-binding.js";
export { assignedIdentitiesNaming, indexAssignedIdentitiesByPod, indexLiveIdentityObjects } from "./nmi/decision-index.js";
export type { AssignedIdentitiesByPod, IndexedLiveIdentityObjects } from "./nmi/decision-index.js";
export { decideForwardRequest, decideRejectedPath } from "./nmi/decide-route.js";
export { decideHostTokenRequest, decideTokenRequest } from "./nmi/decide-token.js";
export type { HostTokenDecisionInput, TokenDecisionInput } from "./nmi/decide-token.js";
export { isFinalDecision } from "./nmi/decision.js";
export { decideException, DEFAULT_EXCEPTION_NAMESPACES } from "./nmi/exception-policy.js";
export { decideRequestLine, SUPPORTED_HTTP_VERSIONS, TOKEN_PATH_METHODS } from "./nmi/request-line.js";
export type { ExceptionPolicy, ExceptionRefusal, ExceptionVerdict } from "./nmi/exception-policy.js";
export { mayBeAssigned } from "./nmi/assignment-prospect.js";
export type { FinalNmiDecision, NmiDecision, PendingNmiDecision } from "./nmi/decision.js";
export { completeFetchPlan, planTokenFetch } from "./nmi/fetch-plan.js";
export type { InvalidIdentityError, SecretContentError, TokenFetchPlan } from "./nmi/fetch-plan.js";
export type { HttpHeaders } from "./nmi/headers.js";
export { parseHostTokenRequest } from "./nmi/host-token-request.js";
export type { HostTokenRequest, HostTokenRequestError } from "./nmi/host-token-request.js";
export {
  AZURE_SECRETS_STORE_PROVIDER,
  decideHostTokenScope,
  findScopedPod,
  HOST_TOKEN_MODES,
  hostTokenScopeDescription,
  parseHostTokenMode,
  secretProviderClassesToRead,
} from "./nmi/host-token-scope.js";
export type { HostTokenMode, HostTokenScopeDenial, HostTokenScopeVerdict, SecretProviderClassLookup } from "./nmi/host-token-scope.js";
export {
  FLEXVOLUME_POD_IDENTITY_OPTION,
  KEY_VAULT_FLEXVOLUME_DRIVER,
  keyVaultVolumesOfRawPod,
  SECRET_PROVIDER_CLASS_ATTRIBUTE,
  SECRETS_STORE_CSI_DRIVER,
  summariseKeyVaultVolumes,
} from "./nmi/key-vault-volumes.js";
export type { KeyVaultVolume } from "./nmi/key-vault-volumes.js";
// Federated identities, NMI side (docs/adr/0021-federated-identities.md).
export { federatedTokenVolumeOfRawPod, projectedTokenLocation, summariseFederatedTokenVolume } from "./nmi/federated-token-volume.js";
export type { FederatedTokenVolume, TokenLocationError } from "./nmi/federated-token-volume.js";
export {
  completeFederatedPlan,
  federatedCacheIdentityKey,
  federatedRefusalDescription,
  planFederatedFetch,
  serviceAccountTokenRequestOf,
} from "./nmi/federated-fetch.js";
export type { FederatedRefusal, FederatedRefusalError } from "./nmi/federated-fetch.js";
export type { FederatedFetchPlan } from "./nmi/fetch-plan.js";
export { checkServiceAccountTokenClaims } from "./nmi/service-account-token-claims.js";
export type { CheckedServiceAccountToken } from "./nmi/service-account-token-claims.js";
export type {
  ServiceAccountToken,
  ServiceAccountTokenError,
  ServiceAccountTokenExpectation,
  ServiceAccountTokenReaderPort,
  ServiceAccountTokenRequest,
} from "./ports/service-account-token-reader.port.js";
export type { SelectionOptions } from "./nmi/identity-selection.js";
export type { IdentitySource } from "./nmi/identity-source.js";
export { IMDS_CONTENT_TYPE, toImdsResponse } from "./nmi/imds-response.js";
export type {
  HostToken,
  HostTokenBody,
  ImdsErrorBody,
  ImdsErrorCode,
  ImdsResponse,
  NmiOutcome,
  SecretFailure,
} from "./nmi/imds-response.js";
export { toImdsTokenBody } from "./nmi/imds-token-body.js";
export type { TokenBodyContext, TokenBodyError } from "./nmi/imds-token-body.js";
export { normalizeIpAddress } from "./nmi/ip-address.js";
export { chooseManagedIdentity } from "./nmi/managed-identity.js";
export type { ManagedIdentityChoice } from "./nmi/managed-identity.js";
export { NMI_DECISION_DEFAULTS, NMI_RETRY_AFTER_SECONDS } from "./nmi/nmi-options.js";
export type { NmiDecisionOptions } from "./nmi/nmi-options.js";
export type { QueryParams } from "./nmi/query.js";
export { checkForwardedHeaders, checkMetadataHeader } from "./nmi/request-headers.js";
export type { ForwardedHeaderError, MetadataHeaderError, MetadataHeaderOptions } from "./nmi/request-headers.js";
export { classifyRequestPath } from "./nmi/request-path.js";
export type { PathRejection, RequestRoute } from "./nmi/request-path.js";
export { backAssignedIdentity } from "./nmi/assignment-backing.js";
export type { LiveIdentityObjects, UnbackedAssignment, UnbackedReason } from "./nmi/assignment-backing.js";
export { chooseStandardIdentity, effectiveAssignedState } from "./nmi/standard-identity.js";
export type { IdentityRequest, StandardChoiceOptions, StandardIdentityChoice } from "./nmi/standard-identity.js";
export { parseTokenRequest } from "./nmi/token-request.js";
export type {
  IdentitySelector,
  TokenParameterError,
  TokenRequest,
  TokenRequestError,
  TokenRequestOptions,
} from "./nmi/token-request.js";

// --- Token cache, upstream budget and per-pod rate limits ----------------------------------------
export {
  createTokenCache,
  fetchFailed,
  fetchSucceeded,
  forgetIdentity,
  invalidateIdentity,
  requestToken,
  steadyHit,
  sweepTokenCache,
} from "./token-cache/cache.js";
export type {
  FetchOutcome,
  FetchPurpose,
  FetchStep,
  InFlightFetch,
  InvalidationStep,
  NegativeEntry,
  SteadyHit,
  TokenCacheEntry,
  TokenCacheState,
  TokenRequestDecision,
  TokenRequestStep,
} from "./token-cache/cache.js";
export type { TokenCacheConfig } from "./token-cache/config.js";
export { tokenCacheKey } from "./token-cache/key.js";
export type { TokenCacheKey, TokenCacheKeyError } from "./token-cache/key.js";
export {
  allowPodRequest,
  createPodRateLimiter,
  DEFAULT_POD_RATE_LIMITER_CONFIG,
  forgetPod,
  isPodBucketFull,
  prunePodBuckets,
  takePodToken,
} from "./token-cache/pod-rate-limiter.js";
export type {
  PodBucket,
  PodRateDecision,
  PodRateLimiterConfig,
  PodRateLimiterState,
} from "./token-cache/pod-rate-limiter.js";
export { cancelFair, createFairQueue, dequeueFair, enqueueFair, queuedFor } from "./token-cache/fair-queue.js";
export type { FairEnqueue, FairQueueState } from "./token-cache/fair-queue.js";
export {
  admitUpstream,
  cancelQueued,
  createUpstreamBudget,
  releaseUpstream,
  startQueued,
  upstreamThrottled,
} from "./token-cache/upstream-budget.js";
export type {
  BudgetDecision,
  BudgetStep,
  QueuedDecision,
  UpstreamBudgetConfig,
  UpstreamBudgetState,
} from "./token-cache/upstream-budget.js";

// --- Leader election -----------------------------------------------------------------------------
// Lease election with client-go semantics and the original's defaults.
export {
  DEFAULT_LEASE_DURATION_MS,
  defaultLeaderElectionConfig,
  validateLeaderElectionConfig,
} from "./leader/config.js";
export type { LeaderElectionConfig, LeaderElectionConfigError } from "./leader/config.js";
export {
  checkLeadership,
  createElector,
  isLeader,
  leaseWriteFailed,
  leaseWriteSucceeded,
  observeLease,
  releaseLease,
} from "./leader/elector.js";
export type {
  ElectionAction,
  ElectionStep,
  ElectorState,
  LeadershipTransition,
  LeaseObservation,
  PendingLeaseWrite,
} from "./leader/elector.js";

// --- Interception: the iptables rules NMI owns ---------------------------------------------------
// Spec validation, the `iptables-save` model, drift detection and `iptables-restore` scripts.
export { inspectInterception } from "./interception/interception-drift.js";
export {
  DEFAULT_INTERCEPTION_SPEC,
  DEFAULT_IPT_UPDATE_INTERVAL_SECONDS,
  describeInterceptionSpecError,
  guardChainName,
  isLoopbackIpv4,
  validateInterceptionSpec,
} from "./interception/interception-spec.js";
// Which iptables backend the node uses (docs/adr/0014-dnat-target-and-iptables-backend.md).
export { chooseIptablesBackend, summariseIptablesSave } from "./interception/iptables-backend.js";
export type {
  BackendChoice,
  BackendChoiceReason,
  BackendRuleSummary,
  IptablesBackend,
  IptablesBackendSetting,
} from "./interception/iptables-backend.js";
export type { InterceptionSpecError } from "./interception/interception-spec.js";
export type { IptablesRule } from "./interception/iptables-rule.js";
export { parseIptablesDump } from "./interception/iptables-ruleset.js";
export type {
  IptablesChain,
  IptablesParseError,
  IptablesRuleset,
  IptablesTable,
} from "./interception/iptables-ruleset.js";
export { planGuardRepair, planInterceptionRemoval, planInterceptionRepair } from "./interception/restore-script.js";
export type { RestorePlan } from "./interception/restore-script.js";
// Anti-spoofing (docs/adr/0010-anti-spoofing.md): pod IP → interface/bridge port, and the nft rules.
export {
  ANTI_SPOOFING_TABLE,
  antiSpoofingVerdict,
  diffAttachments,
  renderAntiSpoofingScript,
  resolvePodAttachments,
} from "./interception/anti-spoofing.js";
export type { AttachmentDiff, AttachmentResolution, NodeNetworkFacts, PodAttachment } from "./interception/anti-spoofing.js";

// --- Metric names --------------------------------------------------------------------------------
export { CLOUD_OPERATION, METRIC, METRIC_LABEL, NMI_OPERATION } from "./metrics/metric-names.js";
export { bindMetric, boundByName } from "./metrics/bound-metric.js";

// --- Command-line compatibility with the original's Go flags -------------------------------------
export type { DeployableCommand, FlagEnvironment, InvalidFlags } from "./compat/command-line.js";
export {
  parseBoolFlag,
  parseChoiceFlag,
  parseDurationFlag,
  parseIntegerFlag,
  parseIpFlag,
  parseNumberFlag,
} from "./compat/flag-values.js";
export type { FlagValue, InvalidFlagValue } from "./compat/flag-values.js";
export { formatGoDuration } from "./compat/go-duration.js";
export { normaliseGoStyleArgs, parseGoBool } from "./compat/go-flag-syntax.js";

// --- Ports: what adapters implement --------------------------------------------------------------
export type { CancellationSignal } from "./ports/cancellation.js";
export type { ClockPort, TimerHandle } from "./ports/clock.port.js";
export type { ComputeError, ComputePort } from "./ports/compute.port.js";
export type { FederatedCredential, FederatedCredentialError, FederatedCredentialPort } from "./ports/federated-credential.port.js";
export type { EventRecorderPort, InvolvedObject } from "./ports/event-recorder.port.js";
export type { CatalogError, CatalogIdentity, IdentityCatalogPort } from "./ports/identity-catalog.port.js";
export type { KubeError } from "./ports/kube-errors.js";
export type {
  KubeReaderPort,
  ResourceEvent,
  SecretData,
  Unsubscribe,
  WatchedResource,
  WatchedResources,
} from "./ports/kube-reader.port.js";
export type { AssignedIdentityWriterPort } from "./ports/kube-writer.port.js";
export {
  SECRET_PROVIDER_CLASS_GROUP,
  SECRET_PROVIDER_CLASS_RESOURCE,
  SECRET_PROVIDER_CLASS_VERSION,
} from "./ports/secret-provider-class-reader.port.js";
export type { SecretProviderClassReaderPort, SecretProviderClassView } from "./ports/secret-provider-class-reader.port.js";
export type { LeaseRecord, LeaseStorePort } from "./ports/lease-store.port.js";
export type { LogFields, LoggerPort } from "./ports/logger.port.js";
export type { BoundMetric, MetricLabels, MetricsPort } from "./ports/metrics.port.js";
export type { InterceptionSpec, InterceptionState, NetfilterError, NetfilterPort } from "./ports/netfilter.port.js";
export type {
  ImdsTokenBody,
  TokenSourceError,
  TokenSourcePort,
  TokenSourceRequest,
} from "./ports/token-source.port.js";

// --- Time ----------------------------------------------------------------------------------------
export { createTimerClock, sleepOnTimer } from "./time/timer-clock.js";
export type { HostTimers } from "./time/timer-clock.js";

// --- Internals other packages' tests need (@internal) ---------------------------------------------
// Not part of the supported API and may change without notice; each is marked `@internal` at its declaration.
// adapter-iptables' unit tests run IptablesNetfilter against core's pure model of iptables-restore/-save, and
// cli's explain tests and harness's benchmark build stored AzureAssignedIdentities exactly as MIC does.
export { ruleText } from "./interception/iptables-rule.js";
export { EMPTY_RULESET, findChain, isBuiltInChain, renderIptablesSave } from "./interception/iptables-ruleset.js";
export { applyRestoreScript } from "./interception/restore-model.js";
export type { RestoreModelError } from "./interception/restore-model.js";
export { renderInterceptionInstallScript } from "./interception/restore-script.js";
export { buildAssignedIdentity } from "./reconcile/assigned-identity-builder.js";
