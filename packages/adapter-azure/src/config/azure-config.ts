import { err, ok, type Result } from "@podid/core";
import type { AzureConfigError, AzureConfigProblem } from "./azure-config-error.js";
import { resolveCloudEnvironment, type CloudEnvironment, type CloudOverrides } from "./cloud-environment.js";

/**
 * How MIC authenticates to ARM, chosen like the original (`pkg/cloudprovider` `Init`): a user-assigned
 * managed identity when `useManagedIdentityExtension` and `userAssignedIdentityID` are set, the
 * system-assigned identity when only `useManagedIdentityExtension` is, a service principal otherwise.
 */
export type ArmCredentialChoice =
  | { readonly kind: "servicePrincipal"; readonly tenantId: string; readonly clientId: string; readonly clientSecret: string }
  | { readonly kind: "systemAssignedIdentity" }
  | { readonly kind: "userAssignedIdentity"; readonly clientId: string };

/** `vmType` of `azure.json`: informational in podid, which reads VM vs VMSS from each node's providerID. */
export type VmType = "standard" | "vmss" | "vmssflex";

/** The validated cloud configuration MIC needs. */
export interface AzureConfig {
  /** Where it came from: the `azure.json` file or the environment variables. */
  readonly source: "file" | "environment";
  readonly cloud: CloudEnvironment;
  /** AAD tenant (required for service principals; informational with managed identities). */
  readonly tenantId: string;
  readonly subscriptionId: string;
  /** Default resource group (podid takes each node's group from its providerID; kept for callers that need one). */
  readonly resourceGroup: string;
  readonly vmType: VmType;
  readonly credential: ArmCredentialChoice;
  /**
   * Client id of the cluster (kubelet) identity, `userAssignedIdentityID`; `""` when none. The original
   * adds it to the immutable identities so MIC never removes it from a node (PR #981).
   */
  readonly clusterIdentityClientId: string;
}

/**
 * The settings as read from `azure.json` or the environment, before validation. Field names follow
 * `azure.json`; absent settings are `""`/`false`.
 */
export interface AzureSettings {
  readonly cloud: string;
  readonly tenantId: string;
  readonly aadClientId: string;
  readonly aadClientSecret: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly vmType: string;
  readonly useManagedIdentityExtension: boolean;
  readonly userAssignedIdentityID: string;
  /** Endpoint overrides given next to the settings (podid extension; see `CloudOverrides`). */
  readonly cloudOverrides: CloudOverrides;
}

const VM_TYPES: readonly VmType[] = ["standard", "vmss", "vmssflex"];

/**
 * Validates settings into an {@link AzureConfig}. `source` names the file or "environment" in errors;
 * `environmentFile` is the parsed `AZURE_ENVIRONMENT_FILEPATH`, used when `cloud` is not a built-in cloud.
 * Names of fields in problems follow `fieldNames` (the env var names when read from the environment).
 */
export function buildAzureConfig(
  settings: AzureSettings,
  source: { readonly kind: "file" | "environment"; readonly name: string },
  environmentFile: CloudOverrides | undefined,
  fieldNames: Readonly<Partial<Record<keyof AzureSettings, string>>> = {},
): Result<AzureConfig, AzureConfigError> {
  const name = (field: keyof AzureSettings) => fieldNames[field] ?? field;
  const problems: AzureConfigProblem[] = [];
  const missing = (field: keyof AzureSettings, why: string) =>
    problems.push({ field: name(field), reason: "missing", message: `required ${why}` });

  const cloud = resolveCloudEnvironment(settings.cloud, environmentFile, settings.cloudOverrides);
  if (!cloud.ok) problems.push({ ...cloud.error, field: cloud.error.field === "cloud" ? name("cloud") : cloud.error.field });

  if (settings.subscriptionId.trim() === "") missing("subscriptionId", "for every ARM call");

  const vmType = (settings.vmType.trim() === "" ? "standard" : settings.vmType.trim().toLowerCase()) as VmType;
  if (!VM_TYPES.includes(vmType)) {
    problems.push({ field: name("vmType"), reason: "invalidValue", message: `"${settings.vmType}" is not one of ${VM_TYPES.join(", ")}` });
  }

  let credential: ArmCredentialChoice | undefined;
  if (settings.useManagedIdentityExtension) {
    const clientId = settings.userAssignedIdentityID.trim();
    credential = clientId === "" ? { kind: "systemAssignedIdentity" } : { kind: "userAssignedIdentity", clientId };
  } else {
    const why = `for service principal authentication (or set ${name("useManagedIdentityExtension")})`;
    if (settings.tenantId.trim() === "") missing("tenantId", why);
    if (settings.aadClientId.trim() === "") missing("aadClientId", why);
    if (settings.aadClientSecret === "") missing("aadClientSecret", why);
    credential = {
      kind: "servicePrincipal",
      tenantId: settings.tenantId.trim(),
      clientId: settings.aadClientId.trim(),
      clientSecret: settings.aadClientSecret,
    };
  }

  if (problems.length > 0 || !cloud.ok) return err({ kind: "invalid", source: source.name, problems });
  return ok({
    source: source.kind,
    cloud: cloud.value,
    tenantId: settings.tenantId.trim(),
    subscriptionId: settings.subscriptionId.trim(),
    resourceGroup: settings.resourceGroup.trim(),
    vmType,
    credential,
    clusterIdentityClientId: settings.userAssignedIdentityID.trim(),
  });
}
