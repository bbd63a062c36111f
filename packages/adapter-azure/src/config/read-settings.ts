import { err, ok, type Result } from "@podid/core";
import type { AzureConfigProblem } from "./azure-config-error.js";
import type { AzureSettings } from "./azure-config.js";

/**
 * Reading raw settings from `azure.json` text or from environment variables, with type checks but no
 * semantic validation (that is `buildAzureConfig`'s job).
 * @packageDocumentation
 */

/** Environment variables the original read when `--cloudconfig` was empty, by `azure.json` field. */
export const AZURE_ENV_VARS = {
  cloud: "CLOUD",
  tenantId: "TENANT_ID",
  aadClientId: "CLIENT_ID",
  aadClientSecret: "CLIENT_SECRET",
  subscriptionId: "SUBSCRIPTION_ID",
  resourceGroup: "RESOURCE_GROUP",
  vmType: "VM_TYPE",
  useManagedIdentityExtension: "USE_MSI",
  userAssignedIdentityID: "USER_ASSIGNED_MSI_CLIENT_ID",
} as const satisfies Partial<Record<keyof AzureSettings, string>>;

/** The go-autorest variable naming a custom cloud's environment file (read for non-built-in clouds). */
export const AZURE_ENVIRONMENT_FILEPATH = "AZURE_ENVIRONMENT_FILEPATH";

/** A boolean from JSON (`true`) or text (`"True"`, `"false"`, case-insensitive); `undefined` if neither. */
function parseBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const text = value.trim().toLowerCase();
  if (text === "true") return true;
  if (text === "false" || text === "") return false;
  return undefined;
}

/**
 * Reads `azure.json` (the cloud provider's config file the original mounted from the node). Unknown
 * fields are ignored (the file holds many settings for the cloud provider); the fields podid reads must
 * have the right JSON type. A UTF-8 byte-order mark is tolerated. podid also reads three optional fields
 * to describe a custom cloud: `resourceManagerEndpoint`, `activeDirectoryEndpoint`, `tokenAudience`.
 */
export function readAzureJsonSettings(text: string): Result<AzureSettings, AzureConfigProblem[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    return err([{ field: "", reason: "invalidJson", message: `not valid JSON: ${(e as Error).message}` }]);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return err([{ field: "", reason: "invalidJson", message: "must hold a JSON object" }]);
  }
  const record = raw as Record<string, unknown>;
  const problems: AzureConfigProblem[] = [];
  const stringField = (field: string): string => {
    const value = record[field];
    if (value === undefined || value === null) return "";
    if (typeof value === "string") return value;
    problems.push({ field, reason: "wrongType", message: `must be a string, got ${JSON.stringify(value)}` });
    return "";
  };
  const useMsiRaw = record["useManagedIdentityExtension"];
  const useMsi = useMsiRaw === undefined || useMsiRaw === null ? false : parseBoolean(useMsiRaw);
  if (useMsi === undefined) {
    problems.push({ field: "useManagedIdentityExtension", reason: "wrongType", message: `must be true or false, got ${JSON.stringify(useMsiRaw)}` });
  }
  const overrideFields = ["resourceManagerEndpoint", "activeDirectoryEndpoint", "tokenAudience"] as const;
  const cloudOverrides = Object.fromEntries(
    overrideFields.map((field) => [field, stringField(field).trim()] as const).filter(([, value]) => value !== ""),
  );
  const settings: AzureSettings = {
    cloud: stringField("cloud"),
    tenantId: stringField("tenantId"),
    aadClientId: stringField("aadClientId"),
    aadClientSecret: stringField("aadClientSecret"),
    subscriptionId: stringField("subscriptionId"),
    resourceGroup: stringField("resourceGroup"),
    vmType: stringField("vmType"),
    useManagedIdentityExtension: useMsi ?? false,
    userAssignedIdentityID: stringField("userAssignedIdentityID"),
    cloudOverrides,
  };
  return problems.length > 0 ? err(problems) : ok(settings);
}

/**
 * Reads the settings from environment variables ({@link AZURE_ENV_VARS}). `USE_MSI` accepts `true`/`false`
 * in any case (the original compared with `strings.EqualFold(v, "True")` and silently treated anything
 * else as false; podid refuses other values so a typo does not switch to service-principal auth).
 */
export function readEnvironmentSettings(env: Readonly<Record<string, string | undefined>>): Result<AzureSettings, AzureConfigProblem[]> {
  const get = (name: string): string => env[name] ?? "";
  const useMsi = parseBoolean(get(AZURE_ENV_VARS.useManagedIdentityExtension));
  if (useMsi === undefined) {
    return err([
      {
        field: AZURE_ENV_VARS.useManagedIdentityExtension,
        reason: "invalidValue",
        message: `must be true or false, got "${get(AZURE_ENV_VARS.useManagedIdentityExtension)}"`,
      },
    ]);
  }
  return ok({
    cloud: get(AZURE_ENV_VARS.cloud),
    tenantId: get(AZURE_ENV_VARS.tenantId),
    aadClientId: get(AZURE_ENV_VARS.aadClientId),
    aadClientSecret: get(AZURE_ENV_VARS.aadClientSecret),
    subscriptionId: get(AZURE_ENV_VARS.subscriptionId),
    resourceGroup: get(AZURE_ENV_VARS.resourceGroup),
    vmType: get(AZURE_ENV_VARS.vmType),
    useManagedIdentityExtension: useMsi,
    userAssignedIdentityID: get(AZURE_ENV_VARS.userAssignedIdentityID),
    cloudOverrides: {},
  });
}
