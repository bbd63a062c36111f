import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";
import { publicSurfaceOf } from "./surface/public-surface.js";

// The package's public surface, pinned so that adding or dropping an export is a deliberate, reviewed
// change: edit ./index.ts and these lists together. Values are checked at runtime; types vanish at runtime,
// so they are read from the index's source text (testkit's publicSurfaceOf).
const VALUES = [
  "ARM_AUDIENCES", "FakeAadServer", "FakeArmServer", "FakeCluster", "FakeCompute", "FakeFederatedCredentialPort", "FakeFederatedCredentials", "FakeIdentityCatalog",
  "FakeImdsServer", "FakeKeyVault", "FakeKubeApiServer", "FakeLeaseClient", "FakeLeaseStore", "FakeNetfilter", "FakeSecretProviderClassReader", "FakeTokenSource", "FederatedTestbed",
  "IDENTITY_NAME_POOL", "LoopbackHostsAgent", "NAMESPACE_POOL", "NetnsHandle", "NetnsProcess", "PodNetns", "RecordingEventRecorder",
  "RecordingHttpServer", "RecordingLogger", "RecordingMetrics", "SECRET_PROVIDER_CLASS_CRD", "SEED_KEY_VAULT_FLEXVOLUME_OPTIONS", "SELECTOR_POOL", "SimulatedKubelet", "TEST_NODE",
  "TestCertificateAuthority", "USER_ASSIGNED_IDENTITY_POOL", "VirtualClock", "anyUserAssignedIdentityIdArb",
  "armNameArb", "azureAssignedIdentityArb", "azureIdentityArb", "azureIdentityBindingArb",
  "azurePodIdentityExceptionArb", "bindPod", "buildKubeconfig", "buildScaleCluster", "callFlexVolumeDriver", "caseVariantArb", "clusterArb",
  "computeTargetArb", "createClientCertificate", "createNetnsTopology", "curlFrom", "decodeFakeJwt", "encodeFakeJwt",
  "fakeGuid", "flexVolumeMountOptions", "freePort", "httpRequestFrom", "identityArmId", "identityClientId", "iptablesSupport", "keyVaultFlexVolume", "loopbackNmiArgs", "makeAssigned",
  "makeBinding", "makeException", "makeIdentity", "makePod", "nodeArb", "objectMetaArb", "podArb", "pollUntil",
  "publicSurfaceOf", "rawHttpExchange", "runCommand", "secretProviderClassObject", "secretsStoreCsiVolume", "seedScaleCluster",
  "startAzureCloud", "startChildProcess", "startEmbeddedCluster", "systemClock", "timestampArb", "toLegacyPascalCase", "tokenUrl", "writeVolumePayload",
];

const TYPES = [
  "AppliedObject", "ArmWireError", "AzureAssignedIdentityArbOptions", "AzureCloud", "AzureCloudOptions",
  "AzureIdentityArbOptions", "AzureIdentityBindingArbOptions", "AzurePodIdentityExceptionArbOptions",
  "CertificateContentType", "CertificatePermission", "ChildProcessComponent", "ChildProcessOptions", "ClientCertificate", "ClusterArbOptions", "ClusterComponent", "ClusterSnapshot", "ClusterWriteCounts",
  "ClusterWriteFault", "ClusterWriteLogEntry", "ClusterWriteOp", "CommandResult", "ComputeCallCounts",
  "ComputeCallLogEntry", "ComputeCounts", "ComputeErrorKind", "ComputeIdentitySnapshot", "ComputeInitialIdentity",
  "ComputeOp", "CreateCertificateAuthorityOptions", "CurlResult", "DemoServicePrincipal", "DropMode",
  "DropWatchesOptions", "EmbeddedCluster", "EmbeddedClusterOptions", "EventQuery", "ExpireHistoryOptions",
  "FailWritesOptions", "FakeAadApplication", "FakeAadCounts", "FakeAadFault", "FakeAadFederatedCounts", "FakeAadFederatedExchange", "FakeAadRequestLogEntry",
  "FakeAadServerOptions", "FakeArmAuthOptions", "FakeArmCounts", "FakeArmFault", "FakeArmLroOptions",
  "FakeArmOperation", "FakeArmRequestInfo", "FakeArmRequestLogEntry", "FakeArmServerOptions", "FakeCertificateOptions",
  "FakeClusterOptions",
  "FakeComputeOptions", "FakeFederatedCredential", "FakeFederatedCredentialCounts", "FakeFederatedCredentialError", "FakeFederatedCredentialInput", "FakeFederatedCredentialPortCall", "FakeFederatedCredentialPortCounts", "FakeFederatedCredentialPortOptions", "FakeFederatedCredentialProperties", "FakeFederatedCredentialWrite", "FakeFederatedCredentialsOptions", "FakeIdentityCatalogOptions", "FakeIdentityInput", "FakeImdsCounts", "FakeImdsFault",
  "FakeImdsRequestLogEntry", "FakeImdsServerOptions", "FakeKeyVaultOptions", "FakeKeyVaultRequestLogEntry",
  "FakeKubeApiServerOptions", "FakeLeaseStoreOptions", "FakeSecretOptions", "FakeSecretProviderClass",
  "FakeServicePrincipal", "FakeTokenCall", "FakeTokenClaims", "FakeTokenCounts", "FakeTokenSourceOptions",
  "FederatedExchangeRefusalReason", "FederatedTestbedOptions", "FlexVolumeCallResult", "FlexVolumeDriverCommand", "IdentityOptions", "ImdsThrottleOptions", "InjectedWriteStatus", "KeyPermission", "KeyVaultPermissions",
  "KeyVaultPrincipal", "KubeObject", "KubeconfigOptions", "KubeletEvent", "LatencySpec",
  "LeafCertificateOptions", "LeaseCounts", "LeaseLatency", "LeaseLogEntry", "LeaseOp", "LogLevel", "LogLine",
  "LoopbackHostMapping", "LoopbackHostsAgentOptions", "LoopbackNmiEndpoints",
  "MetadataTrafficVerdict", "MetricSeries", "NetfilterCounts", "NetfilterOp", "NetfilterTamper", "NetnsHttpOutcome",
  "NetnsHttpRequest", "NetnsSupport", "NetnsTopology", "NetnsTopologyOptions", "NodeArbOptions",
  "ObjectMetaArbOptions", "OpenIdConfiguration", "PayloadFile", "PemKeyPair", "PendingTimer", "PodArbOptions", "PodOptions", "PollUntilOptions", "ProcessExit",
  "PublicSurface", "RawHttpResponse", "RawObject",
  "RecordedEvent", "RecordedHttpEvent", "RequestRecord", "RunCommandOptions", "RunUntilIdleOptions",
  "RunUntilIdleResult", "ScaleCluster", "ScaleClusterOptions", "SecretPermission", "SecretProviderClassOptions", "ServerTls", "ServiceAccountJwk", "SimulatedKubeletOptions", "TestbedPod", "UserAssignedIdentityFixture",
  "VirtualClockOptions",
];

describe("@podid/testkit public surface", () => {
  it("names every export (no `export *`): exactly the listed values and types", () => {
    const indexSource = readFileSync(new URL("./index.ts", import.meta.url), "utf8");
    expect(publicSurfaceOf(indexSource, api)).toEqual({ values: VALUES, types: TYPES, wildcardExports: [] });
  });
});
