/**
 * @podid/adapter-azure — the Azure side of podid's ports: VM/VMSS identities through `@azure/arm-compute`,
 * the identity catalogue through `@azure/arm-msi`, tokens through IMDS and `@azure/identity`, and the cloud
 * configuration (`azure.json` or environment variables, reloaded on change).
 * @packageDocumentation
 */
export * from "./config/azure-config.js";
export * from "./config/cloud-environment.js";
export * from "./config/read-settings.js";
export * from "./config/load-azure-config.js";
export * from "./config/azure-config-watcher.js";
export * from "./imds/imds-client.js";
export * from "./imds/imds-credential.js";
export * from "./credentials/arm-credential.js";
export * from "./compute/arm-client-settings.js";
export * from "./compute/retry-after-policy.js";
export * from "./compute/arm-failure.js";
export * from "./compute/identity-mapping.js";
export * from "./compute/arm-compute-adapter.js";
export * from "./catalog/arm-identity-catalog.js";
export * from "./token/access-token-body.js";
export * from "./token/identity-errors.js";
export * from "./token/credential-cache.js";
export * from "./token/certificate/client-certificate.js";
export * from "./token/certificate/pkcs12.js";
export * from "./token/azure-token-source.js";
