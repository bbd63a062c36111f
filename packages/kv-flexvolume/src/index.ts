/**
 * `@podid/kv-flexvolume`: the FlexVolume `azure/kv` driver's pure parts, for tools that build or check its
 * options. The driver itself is the `podid-kv` bin.
 */
export { AZURE_PUBLIC_CLOUD, cloudByName, KEY_VAULT_CLOUDS, vaultUrl, type KeyVaultCloud } from "./clouds.js";
export { exitCodeOf, sanitiseMessage, type FlexStatus } from "./flex-status.js";
export { DEFAULT_NMI_PORT, parseGoBool, parseMountOptions, parseOptionsJson, resolveNmiPort, type MountAuth, type MountEnvironment, type MountOptions } from "./mount-options.js";
export { decodeHostTokenBody, hostTokenPath, ORIGINAL_RETRY_POLICY, type NmiRetryPolicy, type NmiToken } from "./nmi-token.js";
export type { Result } from "./result.js";
export { fileNameProblem, parseVaultObjects, splitList, type VaultObject, type VaultObjectType } from "./vault-objects.js";
