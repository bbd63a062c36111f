import { readFileSync } from "node:fs";
import { publicSurfaceOf } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";

// The package's public surface, pinned so that adding or dropping an export is a deliberate, reviewed
// change: edit ./index.ts and these lists together. Values are checked at runtime; types vanish at runtime,
// so they are read from the index's source text (testkit's publicSurfaceOf).
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const VALUES = [
  "ANTI_SPOOFING_TABLE", "API_GROUP", "API_VERSION", "ASSIGNED_IDENTITY_FINALIZER", "AZURE_SECRETS_STORE_PROVIDER", "BEHAVIOR_ANNOTATION", "BEHAVIOR_NAMESPACED",
  "BINDING_EVENT", "BINDING_LABEL", "CLOUD_OPERATION", "DEFAULT_ASSIGNED_IDENTITY_NAMESPACE", "DEFAULT_EXCEPTION_NAMESPACES",
  "DEFAULT_INTERCEPTION_SPEC", "DEFAULT_IPT_UPDATE_INTERVAL_SECONDS", "DEFAULT_LEASE_DURATION_MS",
  "DEFAULT_POD_RATE_LIMITER_CONFIG", "EMPTY_QUARANTINE", "EMPTY_RULESET", "GROUP_VERSION", "IMDS_CONTENT_TYPE",
  "IdentityQuarantine", "IdentityType", "KIND", "METRIC", "METRIC_LABEL", "NMI_DECISION_DEFAULTS", "NMI_OPERATION",
  "NMI_RETRY_AFTER_SECONDS", "NODENAME_LABEL", "OPEN_GATES", "PLURAL", "PlanExecution", "SUPPORTED_HTTP_VERSIONS", "TOKEN_PATH_METHODS",
  "admitUpstream", "allowPodRequest", "antiSpoofingVerdict", "applyRestoreScript", "assignedIdentitiesNaming", "assignedIdentityName", "attributeCaller", "backAssignedIdentity",
  "bindMetric", "bindingMatchesPod", "boundByName", "buildAssignedIdentity", "cancelFair", "cancelQueued", "checkForwardedHeaders", "checkLeadership",
  "checkMetadataHeader", "chooseIptablesBackend", "chooseManagedIdentity", "chooseStandardIdentity", "classifyArmError",
  "classifyRequestPath", "closeGate", "compareByNamespaceName", "completeFetchPlan", "computeTargetId",
  "computeTargetKey", "createElector", "createFairQueue", "createPodRateLimiter", "createTimerClock", "createTokenCache",
  "createUpstreamBudget", "decideException", "decideForwardRequest", "decideHostTokenRequest", "decideRejectedPath", "decideRequestLine",
  "decideTokenRequest", "defaultLeaderElectionConfig", "dequeueFair", "describeInterceptionSpecError", "describeValidationError", "diffAttachments",
  "effectiveAssignedState", "enqueueFair", "err", "executeReconcilePlan", "fetchFailed", "fetchSucceeded", "findChain",
  "findPodOnNode", "forgetIdentity", "forgetPod", "formatGoDuration", "formatUserAssignedIdentityId", "gateOpensAt", "guardChainName",
  "identityKey", "immutableIdentitySet", "indexAssignedIdentitiesByPod", "indexLiveIdentityObjects", "inspectInterception", "invalidateIdentity",
  "isAssignmentRelevantPodChange", "isBuiltInChain", "isFinalDecision", "isImmutableIdentity", "isLeader",
  "isLoopbackIpv4", "isNamespacedIdentity", "isPodBucketFull", "isPodExcepted", "leaseWriteFailed", "leaseWriteSucceeded",
  "lifecycleStateOf", "managedIdentityKey", "matchAssignments", "mayBeAssigned", "nearBindingLabelKeys", "nearMatchingBindings",
  "normaliseGoStyleArgs", "normalizeIpAddress", "observeLease", "ok", "parseAzureAssignedIdentity",
  "parseAzureIdentity", "parseAzureIdentityBinding", "parseAzurePodIdentityException", "parseBoolFlag",
  "parseChoiceFlag", "parseComputeTargetId", "parseDurationFlag", "parseGoBool", "parseHostTokenRequest",
  "parseIntegerFlag", "parseIpFlag", "parseIptablesDump", "parseNode", "parseNumberFlag", "parseObjectMeta",
  "parsePod", "parseProviderId", "parseRetryAfter", "parseTokenRequest", "parseUserAssignedIdentityId",
  "planGuardRepair", "planIdentityPatches", "planInterceptionRemoval", "planInterceptionRepair", "planReconcile", "planTokenFetch",
  "podBindingLabel", "podRef", "pruneGates", "prunePodBuckets", "quarantineIdentities", "queuedFor", "recoverLeavingCreated",
  "releaseIdentities", "releaseLease", "releaseUpstream", "renderAntiSpoofingScript", "renderInterceptionInstallScript", "renderIptablesSave",
  "requestToken", "resolvePodAttachments", "ruleText", "sameIdentityId", "selectorCanMatchPodLabel", "selectorNearMiss",
  "serialiseAzureAssignedIdentity", "serialiseAzureIdentity", "serialiseAzureIdentityBinding",
  "serialiseAzurePodIdentityException", "serialiseNode", "serialisePod", "sleepOnTimer", "startQueued", "steadyHit",
  "summariseIptablesSave", "sweepTokenCache", "takePodToken", "toImdsResponse", "toImdsTokenBody", "tokenCacheKey", "upstreamThrottled",
  "validateInterceptionSpec", "validateLeaderElectionConfig", "verifyCallerBinding",
  // The scoped /host/token (docs/adr/0019-scoped-host-token.md).
  "FLEXVOLUME_POD_IDENTITY_OPTION", "HOST_TOKEN_MODES", "KEY_VAULT_FLEXVOLUME_DRIVER", "SECRETS_STORE_CSI_DRIVER",
  "SECRET_PROVIDER_CLASS_ATTRIBUTE", "SECRET_PROVIDER_CLASS_GROUP", "SECRET_PROVIDER_CLASS_RESOURCE", "SECRET_PROVIDER_CLASS_VERSION",
  "decideHostTokenScope", "findScopedPod", "hostTokenScopeDescription", "keyVaultVolumesOfRawPod", "parseHostTokenMode",
  "secretProviderClassesToRead", "summariseKeyVaultVolumes",
  // Federated identities, MIC side (docs/adr/0021-federated-identities.md).
  "FEDERATED_CREDENTIAL_NAME_PATTERN", "FEDERATED_TOKEN_AUDIENCE", "MAX_FEDERATED_CREDENTIALS_PER_IDENTITY", "federatedCredentialName",
  "isPodidOwnedCredential", "isServiceAccountName", "isServiceAccountTrusted", "parseServiceAccountSubject", "planFederatedCredentials",
  "planIdentityCredentials", "podServiceAccountName", "serviceAccountSubject", "FEDERATED_EVENT", "FederatedCredentialExecutor",
  "assignedIdentityObject", "federatedIdentityKey", "podObject",
  // Federated identities, NMI side (docs/adr/0021-federated-identities.md).
  "checkServiceAccountTokenClaims", "completeFederatedPlan", "federatedCacheIdentityKey",
  "federatedRefusalDescription", "federatedTokenVolumeOfRawPod", "planFederatedFetch", "projectedTokenLocation",
  "serviceAccountTokenRequestOf", "summariseFederatedTokenVolume",
].sort(byCodePoint);

const TYPES = [
  "ArmFailure", "AssignedIdentitiesByPod", "AssignedIdentityState", "AssignedIdentityWireStatus", "AssignedIdentityWriterPort", "AttachmentDiff", "AttachmentResolution",
  "AttributionError", "AttributionOptions", "AzureAssignedIdentity", "AzureAssignedIdentitySpec", "AzureIdError",
  "AzureIdErrorReason", "AzureIdentity", "AzureIdentityBinding", "AzureIdentityBindingSpec", "AzureIdentitySpec",
  "AzurePodIdentityException", "BackendChoice", "BackendChoiceReason", "BackendRuleSummary", "BoundMetric", "BudgetDecision", "BudgetStep", "CancellationSignal", "CatalogError",
  "CatalogIdentity", "ClockPort", "ComputeError", "ComputeIdentityState", "ComputePort", "ComputeTarget",
  "DeployableCommand", "DesiredAssignment", "ElectionAction", "ElectionStep", "ElectorState", "Err",
  "EventRecorderPort", "ExceptionPolicy", "ExceptionRefusal", "ExceptionVerdict", "ExecutionReport", "ExecutorOptions", "ExecutorPorts", "FairEnqueue", "FairQueueState", "FetchOutcome", "FetchPurpose",
  "FetchStep", "FinalNmiDecision", "FlagEnvironment", "FlagValue", "ForwardedHeaderError", "HeldAssignment",
  "HostTimers", "HostTokenBody", "HostTokenDecisionInput", "HostTokenRequest", "HostTokenRequestError",
  "HttpHeaders", "IdentityCatalogPort", "IdentityIntent", "IdentityPatch", "IdentityPatchPlan", "IdentityRequest",
  "IdentitySelector", "IdentitySource", "IllegalTransition", "ImdsErrorBody", "ImdsErrorCode", "ImdsResponse",
  "ImdsTokenBody", "InFlightFetch", "IndexedLiveIdentityObjects", "InterceptionSpec", "InterceptionSpecError", "InterceptionState",
  "InvalidFlagValue", "InvalidFlags", "InvalidIdentityError", "InvalidationStep", "InvolvedObject", "IptablesBackend", "IptablesBackendSetting", "IptablesChain",
  "IptablesParseError", "IptablesRule", "IptablesRuleset", "IptablesTable", "KubeError", "KubeReaderPort",
  "LeaderElectionConfig", "LeaderElectionConfigError", "LeadershipTransition", "LeaseObservation", "LeaseRecord",
  "LeaseStorePort", "LeavingRecovery", "LeavingRecoveryInput", "LifecycleEvent", "LifecycleState", "LiveIdentityObjects", "LogFields",
  "LoggerPort", "ManagedIdentityChoice", "MatchInput", "MatchResult", "MatchSkip", "MatchingOptions",
  "MetadataHeaderError", "MetadataHeaderOptions", "MetricLabels", "MetricsPort", "NamespacedObject",
  "NearMatchingBinding", "NearMiss", "NegativeEntry", "NetfilterError", "NetfilterPort", "NmiDecision",
  "NmiDecisionOptions", "NmiOutcome", "NodeNetworkFacts", "NodeView", "ObjectMeta", "ObjectMetaOptions", "Ok", "ParseOptions",
  "ParsedProviderId", "PathRejection", "PendingLeaseWrite", "PendingNmiDecision", "PodAttachment", "PodBucket", "PodPhase",
  "PodRateDecision", "PodRateLimiterConfig", "PodRateLimiterState", "PodRef", "PodView", "QuarantineEntry",
  "QuarantinePolicy", "QuarantineReason", "QuarantineState", "QueryParams", "QueuedDecision", "ReconcileInput",
  "ReconcilePlan", "ReconcilePolicy", "RequestRoute", "ResourceEvent", "ResourceIdentityType",
  "RestoreModelError", "RestorePlan", "Result", "SecretContentError", "SecretData", "SecretFailure", "SecretRef",
  "SelectionOptions", "SelectorNearMiss", "StandardChoiceOptions", "StandardIdentityChoice", "SteadyHit", "TargetOutcome",
  "TargetPlan", "ThrottleGates", "TimerHandle", "TokenBodyContext", "TokenBodyError", "TokenCacheConfig",
  "TokenCacheEntry", "TokenCacheKey", "TokenCacheKeyError", "TokenCacheState", "TokenDecisionInput",
  "TokenFetchPlan", "TokenParameterError", "TokenRequest", "TokenRequestDecision", "TokenRequestError",
  "TokenRequestOptions", "TokenRequestStep", "TokenSourceError", "TokenSourcePort", "TokenSourceRequest",
  "UnbackedAssignment", "UnbackedReason", "UnresolvedNode", "Unsubscribe", "UpstreamBudgetConfig", "UpstreamBudgetState", "UserAssignedIdentityId",
  "ValidationError", "ValidationIssue", "ValidationReason", "WaitingLeavingObject", "WatchedResource",
  "WatchedResources", "WireAzureAssignedIdentity", "WireAzureIdentity", "WireAzureIdentityBinding",
  "WireAzurePodIdentityException", "WireGroupVersion", "WireNode", "WireObjectMeta", "WirePod", "WriteFailure",
  "HostToken", "HostTokenMode", "HostTokenScopeDenial", "HostTokenScopeVerdict", "KeyVaultVolume", "SecretProviderClassLookup",
  "SecretProviderClassReaderPort", "SecretProviderClassView",
  // Federated identities, NMI side.
  "CheckedServiceAccountToken", "FederatedFetchPlan", "FederatedRefusal", "FederatedRefusalError", "FederatedTokenVolume",
  "ServiceAccountToken", "ServiceAccountTokenError", "ServiceAccountTokenExpectation", "ServiceAccountTokenReaderPort",
  "ServiceAccountTokenRequest", "TokenLocationError",
  // Federated identities, MIC side.
  "FederatedCredential", "FederatedCredentialError", "FederatedCredentialPort", "FederatedCredentialsInput", "IdentityCredentialInput",
  "IdentityCredentialPlan", "ReusedCredential", "CredentialSyncOutcome", "FederatedAwaiting", "FederatedCredentialOptions",
  "FederatedIdentityPlan", "FederatedOutcome",
].sort(byCodePoint);

describe("@podid/core public surface", () => {
  it("names every export (no `export *`): exactly the listed values and types", () => {
    const indexSource = readFileSync(new URL("./index.ts", import.meta.url), "utf8");
    expect(publicSurfaceOf(indexSource, api)).toEqual({ values: VALUES, types: TYPES, wildcardExports: [] });
  });
});
