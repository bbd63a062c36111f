import type { TokenCredential } from "@azure/core-auth";
import { ClientSecretCredential } from "@azure/identity";
import type { AzureConfig } from "../config/azure-config.js";
import { isKnownAuthorityHost } from "../config/cloud-environment.js";
import { ImdsClient, type ImdsClientOptions } from "../imds/imds-client.js";
import { ImdsCredential } from "../imds/imds-credential.js";

/** Options of {@link createArmCredential}. */
export interface ArmCredentialOptions {
  /** IMDS to use for managed-identity authentication (default the link-local address). */
  readonly imds?: ImdsClient | ImdsClientOptions;
}

/**
 * The credential MIC uses for ARM, chosen by the configuration as the original chose it: a service
 * principal with a client secret (against the cloud's AAD authority; instance discovery off for authorities
 * that are not a built-in cloud's), or the node's system- or user-assigned managed identity through IMDS.
 * Build a new one when the configuration changes (the watcher emits a new config on rotation).
 */
export function createArmCredential(config: AzureConfig, options: ArmCredentialOptions = {}): TokenCredential {
  const { credential, cloud } = config;
  if (credential.kind === "servicePrincipal") {
    return new ClientSecretCredential(credential.tenantId, credential.clientId, credential.clientSecret, {
      authorityHost: cloud.activeDirectoryAuthorityHost,
      disableInstanceDiscovery: !isKnownAuthorityHost(cloud.activeDirectoryAuthorityHost),
    });
  }
  const imds = options.imds instanceof ImdsClient ? options.imds : new ImdsClient(options.imds ?? {});
  return new ImdsCredential(imds, credential.kind === "userAssignedIdentity" ? credential.clientId : undefined);
}
