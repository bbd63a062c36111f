import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isKnownAuthorityHost, KNOWN_CLOUDS, knownCloud, parseEnvironmentFile, resolveCloudEnvironment } from "./cloud-environment.js";

describe("resolveCloudEnvironment", () => {
  it("defaults to the public cloud and knows the built-in clouds by name, in any case", () => {
    const resolved = resolveCloudEnvironment("", undefined, {});
    expect(resolved).toEqual({ ok: true, value: KNOWN_CLOUDS["AzurePublicCloud"] });
    expect(resolved.ok && resolved.value.resourceManagerScope).toBe("https://management.azure.com/.default");
    for (const name of Object.keys(KNOWN_CLOUDS)) {
      expect(resolveCloudEnvironment(name.toUpperCase(), undefined, {})).toEqual({ ok: true, value: KNOWN_CLOUDS[name] });
    }
    expect(knownCloud(" azurechinacloud ")?.activeDirectoryAuthorityHost).toBe("https://login.chinacloudapi.cn");
  });

  it("points a built-in cloud at another ARM endpoint while keeping its token audience (how tests reach the fakes)", () => {
    const resolved = resolveCloudEnvironment("AzurePublicCloud", undefined, { resourceManagerEndpoint: "https://127.0.0.1:8443/" });
    expect(resolved).toEqual({
      ok: true,
      value: {
        name: "AzurePublicCloud",
        resourceManagerEndpoint: "https://127.0.0.1:8443",
        activeDirectoryAuthorityHost: "https://login.microsoftonline.com",
        resourceManagerScope: "https://management.azure.com/.default",
        custom: true,
      },
    });
  });

  it("reads a go-autorest environment file for AzureStackCloud; explicit fields win over it", () => {
    const file = parseEnvironmentFile(
      JSON.stringify({
        name: "AzureStackCloud",
        resourceManagerEndpoint: "https://management.local.azurestack.external/",
        activeDirectoryEndpoint: "https://login.microsoftonline.com/",
        serviceManagementEndpoint: "https://management.azurestackci.onmicrosoft.com/abc",
        storageEndpointSuffix: "local.azurestack.external",
      }),
      "AZURE_ENVIRONMENT_FILEPATH",
    );
    expect(file.ok).toBe(true);
    if (!file.ok) return;
    const resolved = resolveCloudEnvironment("AzureStackCloud", file.value, { activeDirectoryEndpoint: "https://adfs.example/" });
    expect(resolved).toEqual({
      ok: true,
      value: {
        name: "AzureStackCloud",
        resourceManagerEndpoint: "https://management.local.azurestack.external",
        activeDirectoryAuthorityHost: "https://adfs.example",
        resourceManagerScope: "https://management.azurestackci.onmicrosoft.com/abc/.default",
        custom: true,
      },
    });
  });

  it("refuses unknown clouds without endpoints, non-https endpoints and unusable environment files", () => {
    expect(resolveCloudEnvironment("AzureStackCloud", undefined, {})).toMatchObject({ ok: false, error: { field: "cloud", reason: "invalidValue" } });
    expect(resolveCloudEnvironment("", undefined, { resourceManagerEndpoint: "http://127.0.0.1:1" })).toMatchObject({
      ok: false,
      error: { field: "resourceManagerEndpoint" },
    });
    expect(resolveCloudEnvironment("", undefined, { activeDirectoryEndpoint: "not a url" })).toMatchObject({
      ok: false,
      error: { field: "activeDirectoryEndpoint" },
    });
    expect(parseEnvironmentFile("{", "F")).toMatchObject({ ok: false, error: { field: "F" } });
    expect(parseEnvironmentFile("[]", "F")).toMatchObject({ ok: false });
    expect(parseEnvironmentFile(JSON.stringify({ resourceManagerEndpoint: "https://x" }), "F")).toMatchObject({ ok: false, error: { reason: "missing" } });
  });

  it("a custom cloud's audience defaults to its ARM endpoint; scopes never double a slash", () => {
    fc.assert(
      fc.property(fc.domain(), fc.constantFrom("", "/", "//"), (host, slashes) => {
        const resolved = resolveCloudEnvironment("MyCloud", undefined, {
          resourceManagerEndpoint: `https://${host}${slashes}`,
          activeDirectoryEndpoint: `https://login.${host}${slashes}`,
        });
        expect(resolved).toMatchObject({
          ok: true,
          value: { name: "MyCloud", resourceManagerEndpoint: `https://${host}`, resourceManagerScope: `https://${host}/.default`, custom: true },
        });
      }),
      { numRuns: 50 },
    );
  });

  it("recognises the built-in authority hosts only", () => {
    expect(isKnownAuthorityHost("https://login.microsoftonline.com/")).toBe(true);
    expect(isKnownAuthorityHost("https://LOGIN.microsoftonline.us")).toBe(true);
    expect(isKnownAuthorityHost("https://127.0.0.1:9443")).toBe(false);
  });
});
