import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeAzureConfigError } from "./azure-config-error.js";
import { buildAzureConfig, type AzureSettings } from "./azure-config.js";
import { AZURE_ENV_VARS, readAzureJsonSettings, readEnvironmentSettings } from "./read-settings.js";

const base: AzureSettings = {
  cloud: "AzurePublicCloud",
  tenantId: "tenant",
  aadClientId: "client",
  aadClientSecret: "secret",
  subscriptionId: "sub",
  resourceGroup: "rg",
  vmType: "vmss",
  useManagedIdentityExtension: false,
  userAssignedIdentityID: "",
  cloudOverrides: {},
};
const file = { kind: "file", name: "azure.json" } as const;

describe("buildAzureConfig", () => {
  it("chooses the credential like the original: service principal, system MSI, user MSI", () => {
    expect(buildAzureConfig(base, file, undefined)).toMatchObject({
      ok: true,
      value: { credential: { kind: "servicePrincipal", tenantId: "tenant", clientId: "client", clientSecret: "secret" }, vmType: "vmss" },
    });
    // AKS writes aadClientId/aadClientSecret "msi" with useManagedIdentityExtension; they are ignored then.
    const msi = { ...base, useManagedIdentityExtension: true, aadClientId: "msi", aadClientSecret: "msi", tenantId: "" };
    expect(buildAzureConfig(msi, file, undefined)).toMatchObject({ ok: true, value: { credential: { kind: "systemAssignedIdentity" }, clusterIdentityClientId: "" } });
    expect(buildAzureConfig({ ...msi, userAssignedIdentityID: " kubelet-id " }, file, undefined)).toMatchObject({
      ok: true,
      value: { credential: { kind: "userAssignedIdentity", clientId: "kubelet-id" }, clusterIdentityClientId: "kubelet-id" },
    });
  });

  it("lists every problem at once, named by the source's field names", () => {
    const result = buildAzureConfig(
      { ...base, tenantId: "", aadClientSecret: "", subscriptionId: " ", vmType: "metal", cloud: "Mars" },
      { kind: "environment", name: "environment" },
      undefined,
      AZURE_ENV_VARS,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.kind === "invalid" && result.error.problems.map((p) => p.field).sort()).toEqual(
      ["CLIENT_SECRET", "CLOUD", "SUBSCRIPTION_ID", "TENANT_ID", "VM_TYPE"].sort(),
    );
    expect(describeAzureConfigError(result.error)).toMatch(/TENANT_ID: required/);
  });

  it("never throws and is valid exactly when the required settings are present", () => {
    const text = fc.oneof(fc.constant(""), fc.constant("  "), fc.string({ minLength: 1, maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.record({ tenantId: text, aadClientId: text, aadClientSecret: text, subscriptionId: text, vmType: fc.constantFrom("", "standard", "VMSS", "vmssflex", "x"), useManagedIdentityExtension: fc.boolean(), userAssignedIdentityID: text }),
        (partial) => {
          const settings = { ...base, ...partial };
          const result = buildAzureConfig(settings, file, undefined);
          const filled = (s: string) => s.trim() !== "";
          const expected =
            filled(settings.subscriptionId) &&
            settings.vmType !== "x" &&
            (settings.useManagedIdentityExtension || (filled(settings.tenantId) && filled(settings.aadClientId) && settings.aadClientSecret !== ""));
          expect(result.ok).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("reading settings", () => {
  it("reads the same configuration from azure.json and from the original's environment variables", () => {
    const word = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.record({ tenantId: word, aadClientId: word, aadClientSecret: word, subscriptionId: word, resourceGroup: word, useMsi: fc.boolean(), userAssignedIdentityID: fc.option(word, { nil: "" }), cloud: fc.constantFrom("", "AzurePublicCloud", "AzureChinaCloud", "azureusgovernmentcloud") }),
        (s) => {
          const json = readAzureJsonSettings(
            JSON.stringify({ cloud: s.cloud, tenantId: s.tenantId, aadClientId: s.aadClientId, aadClientSecret: s.aadClientSecret, subscriptionId: s.subscriptionId, resourceGroup: s.resourceGroup, useManagedIdentityExtension: s.useMsi, userAssignedIdentityID: s.userAssignedIdentityID, location: "westeurope", cloudProviderBackoff: true }),
          );
          const env = readEnvironmentSettings({
            CLOUD: s.cloud,
            TENANT_ID: s.tenantId,
            CLIENT_ID: s.aadClientId,
            CLIENT_SECRET: s.aadClientSecret,
            SUBSCRIPTION_ID: s.subscriptionId,
            RESOURCE_GROUP: s.resourceGroup,
            USE_MSI: s.useMsi ? "True" : "",
            USER_ASSIGNED_MSI_CLIENT_ID: s.userAssignedIdentityID,
          });
          expect(json.ok && env.ok).toBe(true);
          if (!json.ok || !env.ok) return;
          const a = buildAzureConfig(json.value, file, undefined);
          const b = buildAzureConfig(env.value, { kind: "environment", name: "environment" }, undefined, AZURE_ENV_VARS);
          expect(a.ok && b.ok && { ...a.value, source: "x" }).toEqual(b.ok && { ...b.value, source: "x" });
        },
      ),
      { numRuns: 100 },
    );
  });

  it("checks JSON types, tolerates a BOM and string booleans, and reads podid's custom-cloud fields", () => {
    expect(readAzureJsonSettings("\uFEFF" + JSON.stringify({ useManagedIdentityExtension: "TRUE", resourceManagerEndpoint: "https://x/" }))).toMatchObject({
      ok: true,
      value: { useManagedIdentityExtension: true, cloudOverrides: { resourceManagerEndpoint: "https://x/" } },
    });
    expect(readAzureJsonSettings(JSON.stringify({ tenantId: 5, useManagedIdentityExtension: "maybe" }))).toMatchObject({
      ok: false,
      error: [
        { field: "useManagedIdentityExtension", reason: "wrongType" },
        { field: "tenantId", reason: "wrongType" },
      ],
    });
    expect(readAzureJsonSettings("not json")).toMatchObject({ ok: false, error: [{ reason: "invalidJson" }] });
    expect(readAzureJsonSettings("[1]")).toMatchObject({ ok: false, error: [{ reason: "invalidJson" }] });
    expect(readEnvironmentSettings({ USE_MSI: "yes" })).toMatchObject({ ok: false, error: [{ field: "USE_MSI", reason: "invalidValue" }] });
  });
});
