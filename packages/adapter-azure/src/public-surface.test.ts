import { readFileSync } from "node:fs";
import { publicSurfaceOf } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";

// The package's public surface, pinned so that adding or dropping an export is a deliberate, reviewed
// change: edit ./index.ts and these lists together. Values are checked at runtime; types vanish at runtime,
// so they are read from the index's source text (testkit's publicSurfaceOf).
const VALUES = [
  "ArmComputeAdapter", "ArmFederatedCredentials", "ArmIdentityCatalog", "AzureConfigWatcher", "AzureTokenSource", "ImdsClient",
  "armClientSettings", "createArmCredential", "describeAzureConfigError", "environmentAzureConfig",
  "loadAzureConfig", "metadataEndpoint", "toFederatedCredentialError",
];

const TYPES = [
  "AadRetryOptions", "ArmClientSettings", "ArmComputeAdapterOptions", "ArmCredentialChoice",
  "ArmCredentialOptions", "ArmFederatedCredentialsOptions", "ArmIdentityCatalogOptions", "ArmRetryOptions", "AzureConfig", "AzureConfigError",
  "AzureConfigProblem", "AzureConfigWatcherOptions", "AzureTokenSourceOptions", "CloudEnvironment", "FederatedPropagationRetry",
  "ImdsClientOptions", "LoadAzureConfigOptions", "ManagedIdentityRequest", "MultiTenantTokens", "SecretRequest",
  "VmType",
];

describe("@podid/adapter-azure public surface", () => {
  it("names every export (no `export *`): exactly the listed values and types", () => {
    const indexSource = readFileSync(new URL("./index.ts", import.meta.url), "utf8");
    expect(publicSurfaceOf(indexSource, api)).toEqual({ values: VALUES, types: TYPES, wildcardExports: [] });
  });
});
