import { parseUserAssignedIdentityId } from "../azure-ids/user-assigned-identity-id.js";
import type { Result } from "../result.js";
import { KIND } from "./constants.js";
import { finishParse, readEnvelope } from "./envelope.js";
import { isServiceAccountName } from "./service-account-name.js";
import type { AzureIdentity, IdentityType, SecretRef } from "./types.js";
import type { ValidationError, ValidationIssue } from "./validation.js";
import { addIssue, pick, readObject, readString, readStringArray } from "./wire-reader.js";

/** Options of the namespaced object parsers. */
export interface ParseOptions {
  /**
   * Namespace to assume when `metadata.namespace` is absent. Only meant for objects embedded in an
   * AzureAssignedIdentity; top-level objects from the API always carry their namespace.
   */
  readonly defaultNamespace?: string;
}

/**
 * Reads `spec.type`: absent means 0 (Go's zero value, so the original treats a missing type as a
 * user-assigned identity); integers 0–3 and their decimal strings (`"0"`, as some hand-written YAML quotes
 * it) are accepted. Type 2 is accepted although the original's v1 API only names 0 and 1, because the
 * integer passes straight through to the code that handles certificates. Type 3 is podid's federated
 * identity (docs/adr/0021-federated-identities.md); the original refuses it, so it never attaches one to a VM.
 */
function readIdentityType(value: unknown): IdentityType | undefined {
  if (value === undefined) return 0;
  const n = typeof value === "string" && /^[0-9]$/.test(value) ? Number(value) : value;
  return n === 0 || n === 1 || n === 2 || n === 3 ? n : undefined;
}

/** Checks `resourceID` for the types that name a user-assigned identity (0 and 3). */
function checkUserAssignedResourceId(resourceID: string, type: 0 | 3, issues: ValidationIssue[]): void {
  if (resourceID === "") {
    addIssue(
      issues,
      "missingResourceID",
      "spec.resourceID",
      type === 0
        ? "resourceID is required for a user-assigned identity (type 0); manifests written for aad-pod-identity < 1.6 use ResourceID"
        : "resourceID is required for a federated identity (type 3): its federated identity credentials live on that user-assigned identity",
    );
    return;
  }
  const parsed = parseUserAssignedIdentityId(resourceID);
  if (!parsed.ok) addIssue(issues, "malformedResourceID", "spec.resourceID", parsed.error.message);
}

/** Type-3 rules beyond the resource id: a tenant and a non-empty list of service accounts. */
function checkFederated(tenantID: string, serviceAccounts: readonly string[], issues: ValidationIssue[]): void {
  if (tenantID === "") {
    addIssue(issues, "federatedTenantMissing", "spec.tenantID", "tenantID is required for a federated identity (type 3)");
  }
  if (serviceAccounts.length === 0) {
    addIssue(
      issues,
      "federatedServiceAccountsMissing",
      "spec.serviceAccounts",
      "serviceAccounts must name at least one service account of the identity's namespace for a federated identity (type 3)",
    );
  }
}

/** Every listed name must be able to name a ServiceAccount; checked for all types so a typo never passes silently. */
function checkServiceAccountNames(serviceAccounts: readonly string[], issues: ValidationIssue[]): void {
  serviceAccounts.forEach((name, index) => {
    if (!isServiceAccountName(name)) {
      addIssue(
        issues,
        "invalidServiceAccountName",
        `spec.serviceAccounts[${index}]`,
        `${JSON.stringify(name)} is not a service-account name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253 characters)`,
      );
    }
  });
}

/**
 * Parses an `AzureIdentity` from raw API JSON, accepting the current camelCase fields and the pre-1.6
 * PascalCase ones (`Type`, `ResourceID`, `ClientID`, `ClientPassword`, `TenantID`, `AuxiliaryTenantIDs`,
 * `ADEndpoint`, `ADResourceID`, and podid's `ServiceAccounts`); camelCase wins when both are present (see
 * `pick`). Rules: type 0 needs a `resourceID` that is a user-assigned identity ARM id (the original only logged
 * `invalid resource id: ""` and ignored such identities) and a `clientID`; types 1 and 2 need `clientID`,
 * `tenantID` and `clientPassword.name`, whose namespace defaults to the identity's own namespace; type 3
 * (federated) needs a user-assigned `resourceID`, `clientID`, `tenantID` and at least one service account.
 * Every `serviceAccounts` entry must be a valid service-account name. A
 * `clientPassword` without a name is treated as absent (Go serialises the unset struct as `{}`). Every
 * problem is reported, not only the first.
 */
export function parseAzureIdentity(raw: unknown, options: ParseOptions = {}): Result<AzureIdentity, ValidationError> {
  const envelope = readEnvelope(raw, { objectKind: KIND.AzureIdentity, namespaced: true, ...options });
  if (!envelope.ok) return envelope;
  const { spec, metadata, issues } = envelope.value;
  const rawType = pick(spec, ["type", "Type"]);
  const type = readIdentityType(rawType);
  if (type === undefined) {
    addIssue(
      issues,
      "unknownIdentityType",
      "spec.type",
      `unknown identity type ${JSON.stringify(rawType)}: expected 0 (user-assigned MSI), 1 (service principal), 2 (service principal certificate) or 3 (federated)`,
    );
  }
  const resourceID = readString(spec, ["resourceID", "ResourceID"], "spec", issues);
  const clientID = readString(spec, ["clientID", "ClientID"], "spec", issues);
  const tenantID = readString(spec, ["tenantID", "TenantID"], "spec", issues);
  const password = readObject(spec, ["clientPassword", "ClientPassword"], "spec", issues);
  const secretName = password === undefined ? "" : readString(password, ["name"], "spec.clientPassword", issues);
  const secretNamespace = password === undefined ? "" : readString(password, ["namespace"], "spec.clientPassword", issues);
  const clientPassword: SecretRef | undefined =
    secretName === "" ? undefined : { name: secretName, namespace: secretNamespace === "" ? metadata.namespace : secretNamespace };
  const auxiliaryTenantIDs = readStringArray(spec, ["auxiliaryTenantIDs", "AuxiliaryTenantIDs"], "spec", issues);
  const adEndpoint = readString(spec, ["adEndpoint", "ADEndpoint"], "spec", issues);
  const adResourceID = readString(spec, ["adResourceID", "ADResourceID"], "spec", issues);
  const serviceAccounts = readStringArray(spec, ["serviceAccounts", "ServiceAccounts"], "spec", issues);

  if (clientID === "") addIssue(issues, "missingClientID", "spec.clientID", "clientID is required");
  if (type === 0 || type === 3) {
    checkUserAssignedResourceId(resourceID, type, issues);
    if (type === 3) checkFederated(tenantID, serviceAccounts, issues);
  } else if (type !== undefined) {
    if (tenantID === "") addIssue(issues, "missingTenantID", "spec.tenantID", "tenantID is required for a service principal");
    if (clientPassword === undefined) {
      addIssue(issues, "missingSecretRef", "spec.clientPassword.name", "clientPassword.name is required for a service principal");
    }
  }
  checkServiceAccountNames(serviceAccounts, issues);
  return finishParse(KIND.AzureIdentity, envelope.value, {
    kind: "AzureIdentity",
    metadata,
    spec: {
      type: type ?? 0,
      resourceID,
      clientID,
      tenantID,
      ...(clientPassword !== undefined ? { clientPassword } : {}),
      auxiliaryTenantIDs,
      adEndpoint,
      adResourceID,
      serviceAccounts,
    },
  });
}
