/**
 * @podid/testkit — in-memory fakes of every @podid/core port, fast-check arbitraries, a virtual clock, HTTP
 * fakes of ARM/IMDS/AAD and of the kube-apiserver, and network-namespace helpers, for testing podid and
 * controllers built on it.
 *
 * Everything exported is named here on purpose (no `export *`); modules not listed are internal.
 * `public-surface.test.ts` pins the list.
 * @packageDocumentation
 */

// --- In-memory fakes of core's ports -------------------------------------------------------------
// Deterministic, inspectable stand-ins for ComputePort, IdentityCatalogPort, TokenSourcePort, NetfilterPort,
// LeaseStorePort, the kube ports, the logger, metrics and events.
export { FakeCluster } from "./fakes/fake-cluster.js";
export type {
  ClusterWriteCounts,
  ClusterWriteFault,
  ClusterWriteLogEntry,
  ClusterWriteOp,
  FakeClusterOptions,
} from "./fakes/fake-cluster.js";
export { FakeCompute } from "./fakes/fake-compute.js";
export type {
  ComputeCallCounts,
  ComputeCallLogEntry,
  ComputeCounts,
  ComputeErrorKind,
  ComputeIdentitySnapshot,
  ComputeInitialIdentity,
  ComputeOp,
  FakeComputeOptions,
  LatencySpec,
} from "./fakes/fake-compute.js";
export { FakeIdentityCatalog } from "./fakes/fake-identity-catalog.js";
export type { FakeIdentityCatalogOptions, FakeIdentityInput } from "./fakes/fake-identity-catalog.js";
// Federated identity credentials of user-assigned identities (Entra ID's rules), served by FakeArmServer,
// trusted by FakeAadServer's federated exchange (`catalog.federatedCredentials`) and behind core's
// FederatedCredentialPort (FakeFederatedCredentialPort).
export { FakeFederatedCredentialPort } from "./fakes/fake-federated-credential-port.js";
export type {
  FakeFederatedCredentialPortCall,
  FakeFederatedCredentialPortCounts,
  FakeFederatedCredentialPortOptions,
} from "./fakes/fake-federated-credential-port.js";
export { FakeFederatedCredentials } from "./fakes/fake-federated-credentials.js";
export type {
  FakeFederatedCredentialsOptions,
  FakeFederatedCredential,
  FakeFederatedCredentialCounts,
  FakeFederatedCredentialError,
  FakeFederatedCredentialInput,
  FakeFederatedCredentialProperties,
  FakeFederatedCredentialWrite,
} from "./fakes/fake-federated-credentials.js";
export type { FederatedExchangeRefusalReason } from "./fakes/federated-exchange.js";
export { fakeGuid } from "./fakes/fake-ids.js";
export { decodeFakeJwt, encodeFakeJwt } from "./fakes/fake-jwt.js";
export type { FakeTokenClaims } from "./fakes/fake-jwt.js";
export { FakeLeaseClient, FakeLeaseStore } from "./fakes/fake-lease-store.js";
export type {
  FakeLeaseStoreOptions,
  LeaseCounts,
  LeaseLatency,
  LeaseLogEntry,
  LeaseOp,
} from "./fakes/fake-lease-store.js";
export { FakeNetfilter } from "./fakes/fake-netfilter.js";
export type { MetadataTrafficVerdict, NetfilterCounts, NetfilterOp, NetfilterTamper } from "./fakes/fake-netfilter.js";
export { FakeSecretProviderClassReader } from "./fakes/fake-secret-provider-class-reader.js";
export type { FakeSecretProviderClass } from "./fakes/fake-secret-provider-class-reader.js";
export { FakeTokenSource } from "./fakes/fake-token-source.js";
export type {
  FakeServicePrincipal,
  FakeTokenCall,
  FakeTokenCounts,
  FakeTokenSourceOptions,
} from "./fakes/fake-token-source.js";
export { RecordingEventRecorder } from "./fakes/recording-event-recorder.js";
export type { EventQuery, RecordedEvent } from "./fakes/recording-event-recorder.js";
export { RecordingLogger } from "./fakes/recording-logger.js";
export type { LogLevel, LogLine } from "./fakes/recording-logger.js";
export { RecordingMetrics } from "./fakes/recording-metrics.js";
export type { MetricSeries } from "./fakes/recording-metrics.js";

// --- Virtual clock -------------------------------------------------------------------------------
export { VirtualClock } from "./clock/virtual-clock.js";
export type {
  PendingTimer,
  RunUntilIdleOptions,
  RunUntilIdleResult,
  VirtualClockOptions,
} from "./clock/virtual-clock.js";

// --- Polling in real time (tests against real servers and processes) ------------------------------
export { pollUntil } from "./polling/poll-until.js";
export type { PollUntilOptions } from "./polling/poll-until.js";

// --- fast-check arbitraries ----------------------------------------------------------------------
// Valid models (what core's parsers produce), whole clusters, and the pools names are drawn from.
export { azureAssignedIdentityArb } from "./arbitraries/azure-assigned-identity.js";
export type { AzureAssignedIdentityArbOptions } from "./arbitraries/azure-assigned-identity.js";
export { azureIdentityBindingArb } from "./arbitraries/azure-identity-binding.js";
export type { AzureIdentityBindingArbOptions } from "./arbitraries/azure-identity-binding.js";
export { azureIdentityArb } from "./arbitraries/azure-identity.js";
export type { AzureIdentityArbOptions } from "./arbitraries/azure-identity.js";
export { anyUserAssignedIdentityIdArb, armNameArb, caseVariantArb, computeTargetArb } from "./arbitraries/azure-ids.js";
export { azurePodIdentityExceptionArb } from "./arbitraries/azure-pod-identity-exception.js";
export type { AzurePodIdentityExceptionArbOptions } from "./arbitraries/azure-pod-identity-exception.js";
export { clusterArb } from "./arbitraries/cluster.js";
export type { ClusterArbOptions, ClusterSnapshot } from "./arbitraries/cluster.js";
export { nodeArb } from "./arbitraries/node.js";
export type { NodeArbOptions } from "./arbitraries/node.js";
export { objectMetaArb, timestampArb } from "./arbitraries/object-meta.js";
export type { ObjectMetaArbOptions } from "./arbitraries/object-meta.js";
export { podArb } from "./arbitraries/pod.js";
export type { PodArbOptions } from "./arbitraries/pod.js";
export { IDENTITY_NAME_POOL, NAMESPACE_POOL, SELECTOR_POOL, USER_ASSIGNED_IDENTITY_POOL } from "./arbitraries/pools.js";
export type { UserAssignedIdentityFixture } from "./arbitraries/pools.js";
export { toLegacyPascalCase } from "./arbitraries/raw-wire.js";
export type { RawObject } from "./arbitraries/raw-wire.js";

// --- Cluster object builders and scenarios -------------------------------------------------------
export {
  bindPod,
  identityArmId,
  identityClientId,
  makeAssigned,
  makeBinding,
  makeException,
  makeIdentity,
  makePod,
  TEST_NODE,
  tokenUrl,
} from "./objects/cluster-objects.js";
export type { IdentityOptions, PodOptions } from "./objects/cluster-objects.js";
export {
  keyVaultFlexVolume,
  SECRET_PROVIDER_CLASS_CRD,
  secretProviderClassObject,
  secretsStoreCsiVolume,
  SEED_KEY_VAULT_FLEXVOLUME_OPTIONS,
} from "./objects/key-vault-objects.js";
export type { SecretProviderClassOptions } from "./objects/key-vault-objects.js";
export { buildScaleCluster } from "./scenarios/scale-cluster.js";
export { seedScaleCluster } from "./scenarios/seed-scale-cluster.js";
export type { ScaleCluster, ScaleClusterOptions } from "./scenarios/scale-cluster.js";

// --- Azure fakes over HTTP: ARM, IMDS and AAD ----------------------------------------------------
export type { ArmWireError } from "./azure/arm-wire-errors.js";
export type { FakeAadFederatedCounts, FakeAadFederatedExchange } from "./azure/aad-federated-exchange.js";
export { FakeAadServer } from "./azure/fake-aad-server.js";
export type {
  FakeAadApplication,
  FakeAadCounts,
  FakeAadFault,
  FakeAadRequestLogEntry,
  FakeAadServerOptions,
} from "./azure/fake-aad-server.js";
export { ARM_AUDIENCES, FakeArmServer } from "./azure/fake-arm-server.js";
export type {
  FakeArmAuthOptions,
  FakeArmCounts,
  FakeArmFault,
  FakeArmLroOptions,
  FakeArmOperation,
  FakeArmRequestInfo,
  FakeArmRequestLogEntry,
  FakeArmServerOptions,
} from "./azure/fake-arm-server.js";
export { FakeImdsServer } from "./azure/fake-imds-server.js";
export type {
  FakeImdsCounts,
  FakeImdsFault,
  FakeImdsRequestLogEntry,
  FakeImdsServerOptions,
} from "./azure/fake-imds-server.js";
export type { ImdsThrottleOptions } from "./azure/imds-throttle.js";
export { systemClock } from "./azure/system-clock.js";
// The kube-apiserver as service-account issuer, the identity catalogue and the fake AAD together, for tests of
// the federated token exchange.
export { FederatedTestbed } from "./azure/federated-testbed.js";
export type { FederatedTestbedOptions, TestbedPod } from "./azure/federated-testbed.js";

// --- Azure Key Vault fake, reached under the real vault host names ---------------------------------
// HTTPS data plane with challenge auth and access policies; `agent()` for in-process SDK clients,
// `childEnvironment()` (a loopback host-mapping preload) for child processes.
export { FakeKeyVault } from "./azure/key-vault/fake-key-vault.js";
export type {
  FakeCertificateOptions,
  FakeKeyVaultOptions,
  FakeKeyVaultRequestLogEntry,
  FakeSecretOptions,
} from "./azure/key-vault/fake-key-vault.js";
export type {
  CertificateContentType,
  CertificatePermission,
  KeyPermission,
  KeyVaultPermissions,
  KeyVaultPrincipal,
  SecretPermission,
} from "./azure/key-vault/key-vault-model.js";
export { LoopbackHostsAgent } from "./azure/key-vault/loopback-agent.js";
export type { LoopbackHostsAgentOptions } from "./azure/key-vault/loopback-agent.js";
export type { LoopbackHostMapping } from "./azure/key-vault/loopback-hosts.js";

// --- Fake kube-apiserver -------------------------------------------------------------------------
// A loopback HTTP server real Kubernetes clients accept (see ./kube-apiserver/index.ts).
export { buildKubeconfig, FakeKubeApiServer } from "./kube-apiserver/index.js";
export type {
  AppliedObject,
  DropMode,
  DropWatchesOptions,
  ExpireHistoryOptions,
  FailWritesOptions,
  FakeKubeApiServerOptions,
  InjectedWriteStatus,
  KubeconfigOptions,
  KubeObject,
  OpenIdConfiguration,
  RequestRecord,
  ServerTls,
  ServiceAccountJwk,
} from "./kube-apiserver/index.js";

// --- Simulated cluster components (what podid-sim starts) ----------------------------------------
export { freePort, startAzureCloud, startEmbeddedCluster } from "./cli/index.js";
export type {
  AzureCloud,
  AzureCloudOptions,
  ClusterComponent,
  DemoServicePrincipal,
  EmbeddedCluster,
  EmbeddedClusterOptions,
} from "./cli/index.js";

// --- Test TLS ------------------------------------------------------------------------------------
export { createClientCertificate, TestCertificateAuthority } from "./tls/test-certificate-authority.js";
export type {
  ClientCertificate,
  CreateCertificateAuthorityOptions,
  LeafCertificateOptions,
  PemKeyPair,
} from "./tls/test-certificate-authority.js";

// --- Public-surface tests ------------------------------------------------------------------------
// Reads what a package's index exports (values, type-only exports, any `export *`) for a test that pins it.
export { publicSurfaceOf } from "./surface/public-surface.js";
export type { PublicSurface } from "./surface/public-surface.js";

// --- Network namespaces (Linux, root): real iptables and HTTP between pods and a node ------------
export { NetnsHandle } from "./netns/netns-handle.js";
export { curlFrom, httpRequestFrom, RecordingHttpServer } from "./netns/netns-http.js";
export type { CurlResult, NetnsHttpOutcome, NetnsHttpRequest, RecordedHttpEvent } from "./netns/netns-http.js";
export { NetnsProcess } from "./netns/netns-process.js";
export type { ProcessExit } from "./netns/netns-process.js";
export { iptablesSupport } from "./netns/netns-support.js";
export type { NetnsSupport } from "./netns/netns-support.js";
export { createNetnsTopology, PodNetns } from "./netns/netns-topology.js";
export type { NetnsTopology, NetnsTopologyOptions } from "./netns/netns-topology.js";
export { runCommand } from "./netns/run-command.js";
export type { CommandResult, RunCommandOptions } from "./netns/run-command.js";

// --- Simulated kubelet: FlexVolume drivers run as real processes into kubelet's volume layout ----
export { callFlexVolumeDriver } from "./kubelet/flexvolume-driver-call.js";
export type { FlexVolumeCallResult, FlexVolumeDriverCommand } from "./kubelet/flexvolume-driver-call.js";
export { flexVolumeMountOptions } from "./kubelet/flexvolume-mount-options.js";
export { SimulatedKubelet } from "./kubelet/simulated-kubelet.js";
// kubelet's AtomicWriter (`..data` symlink layout), for tests that need a kubelet-written volume without a kubelet.
export { writeVolumePayload } from "./kubelet/atomic-writer.js";
export type { PayloadFile } from "./kubelet/atomic-writer.js";
export { loopbackNmiArgs } from "./demo/demo-processes.js";
// podid's deployables (MIC, NMI) as child processes, started once their health URL answers.
export { startChildProcess } from "./demo/child-process-component.js";
export type { ChildProcessComponent, ChildProcessOptions } from "./demo/child-process-component.js";
export { rawHttpExchange } from "./http/raw-http-exchange.js";
export type { RawHttpResponse } from "./http/raw-http-exchange.js";
export type { LoopbackNmiEndpoints } from "./demo/demo-processes.js";
export type { KubeletEvent, SimulatedKubeletOptions } from "./kubelet/simulated-kubelet.js";
