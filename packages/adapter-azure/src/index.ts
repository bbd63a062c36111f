/**
 * @podid/adapter-azure — the Azure side of podid's ports: VM/VMSS identities through `@azure/arm-compute`,
 * the identity catalogue through `@azure/arm-msi`, tokens through IMDS and `@azure/identity`, and the cloud
 * configuration (`azure.json` or environment variables, reloaded on change).
 *
 * Everything exported is named here on purpose (no `export *`); modules not listed are internal (the
 * settings readers, the ARM error mapping, the token-body and credential caches, PKCS#12 reading).
 * `public-surface.test.ts` pins the list.
 * @packageDocumentation
 */

// --- Cloud configuration -------------------------------------------------------------------------
// `azure.json` (the original's `--cloudconfig`) or the environment variables, validated into one AzureConfig;
// the watcher reloads the file when it changes so rotated service-principal secrets take effect.
export { AzureConfigWatcher } from "./config/azure-config-watcher.js";
export type { AzureConfigWatcherOptions } from "./config/azure-config-watcher.js";
export { describeAzureConfigError } from "./config/azure-config-error.js";
export type { AzureConfigError, AzureConfigProblem } from "./config/azure-config-error.js";
export type { ArmCredentialChoice, AzureConfig, VmType } from "./config/azure-config.js";
export type { CloudEnvironment } from "./config/cloud-environment.js";
export { environmentAzureConfig, loadAzureConfig } from "./config/load-azure-config.js";
export type { LoadAzureConfigOptions } from "./config/load-azure-config.js";

// --- ARM: credentials and client settings --------------------------------------------------------
// The credential MIC and `podid explain` use towards ARM (service principal or IMDS), and the retry and
// pipeline settings shared by the ARM clients.
export { armClientSettings } from "./compute/arm-client-settings.js";
export type { ArmClientSettings, ArmRetryOptions } from "./compute/arm-client-settings.js";
export { createArmCredential } from "./credentials/arm-credential.js";
export type { ArmCredentialOptions } from "./credentials/arm-credential.js";

// --- ComputePort and IdentityCatalogPort over ARM ------------------------------------------------
// VM/VMSS identity GET/PATCH with long-running operations (a 429 becomes core's `throttled` with its
// Retry-After), and user-assigned identity look-ups.
export { ArmComputeAdapter } from "./compute/arm-compute-adapter.js";
export type { ArmComputeAdapterOptions } from "./compute/arm-compute-adapter.js";
export { ArmIdentityCatalog } from "./catalog/arm-identity-catalog.js";
export type { ArmIdentityCatalogOptions } from "./catalog/arm-identity-catalog.js";
export { ArmFederatedCredentials, toFederatedCredentialError } from "./federated/arm-federated-credentials.js";
export type { ArmFederatedCredentialsOptions } from "./federated/arm-federated-credentials.js";

// --- TokenSourcePort: IMDS and AAD ---------------------------------------------------------------
// Managed identities through IMDS (its JSON passed through), service principals through `@azure/identity`.
export { ImdsClient, metadataEndpoint } from "./imds/imds-client.js";
export type { ImdsClientOptions, ManagedIdentityRequest } from "./imds/imds-client.js";
export { AzureTokenSource } from "./token/azure-token-source.js";
export type {
  AadRetryOptions,
  AzureTokenSourceOptions,
  FederatedPropagationRetry,
  MultiTenantTokens,
  SecretRequest,
} from "./token/azure-token-source.js";
