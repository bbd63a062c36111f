/**
 * `@podid/adapter-azure/token-source` — only the token side of the adapter: {@link AzureTokenSource} and the
 * IMDS client. NMI imports this entry point instead of the package index, so the ARM clients
 * (`@azure/arm-compute`, `@azure/arm-msi`) and the cloud-configuration readers, which only MIC and the CLI
 * use, are never loaded into the node daemon; `@azure/identity` itself is loaded by `AzureTokenSource` on the
 * first service-principal request.
 * @packageDocumentation
 */
export { ImdsClient, metadataEndpoint } from "./imds/imds-client.js";
export type { ImdsClientOptions, ManagedIdentityRequest } from "./imds/imds-client.js";
export { AzureTokenSource } from "./token/azure-token-source.js";
export type { AadRetryOptions, AzureTokenSourceOptions, FederatedPropagationRetry, MultiTenantTokens, SecretRequest } from "./token/azure-token-source.js";
