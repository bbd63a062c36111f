import { parseUserAssignedIdentityId } from "../azure-ids/user-assigned-identity-id.js";
import type { Result } from "../result.js";
import { KIND } from "./constants.js";
import { finishParse, readEnvelope } from "./envelope.js";
import type { AzureIdentity, IdentityType, SecretRef } from "./types.js";
import type { ValidationError } from "./validation.js";
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
 * user-assigned identity); integers 0–2 and their decimal strings (`"0"`, as some hand-written YAML quotes
 * it) are accepted. Type 2 is accepted although the original's v1 API only names 0 and 1, because the
 * integer passes straight through to the code that handles certificates.
 */
function readIdentityType(value: unknown): IdentityType | undefined {
  if (value === undefined) return 0;
  const n = typeof value === "string" && /^[0-9]$/.test(value) ? Number(value) : value;
  return n === 0 || n === 1 || n === 2 ? n : undefined;
}

/**
 * Parses an `AzureIdentity` from raw API JSON, accepting the current camelCase fields and the pre-1.6
 * PascalCase ones (`Type`, `ResourceID`, `ClientID`, `ClientPassword`, `TenantID`, `AuxiliaryTenantIDs`,
 * `ADEndpoint`, `ADResourceID`); camelCase wins when both are present (see `pick`). Rules:
 * type 0 needs a `resourceID` that is a user-assigned identity ARM id (the original only logged
 * `invalid resource id: ""` and ignored such identities) and a `clientID`; types 1 and 2 need `clientID`,
 * `tenantID` and `clientPassword.name`, whose namespace defaults to the identity's own namespace. A
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
      `unknown identity type ${JSON.stringify(rawType)}: expected 0 (user-assigned MSI), 1 (service principal) or 2 (service principal certificate)`,
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

  if (clientID === "") addIssue(issues, "missingClientID", "spec.clientID", "clientID is required");
  if (type === 0) {
    if (resourceID === "") {
      addIssue(
        issues,
        "missingResourceID",
        "spec.resourceID",
        "resourceID is required for a user-assigned identity (type 0); manifests written for aad-pod-identity < 1.6 use ResourceID",
      );
    } else {
      const parsed = parseUserAssignedIdentityId(resourceID);
      if (!parsed.ok) addIssue(issues, "malformedResourceID", "spec.resourceID", parsed.error.message);
    }
  } else if (type !== undefined) {
    if (tenantID === "") addIssue(issues, "missingTenantID", "spec.tenantID", "tenantID is required for a service principal");
    if (clientPassword === undefined) {
      addIssue(issues, "missingSecretRef", "spec.clientPassword.name", "clientPassword.name is required for a service principal");
    }
  }
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
    },
  });
}
