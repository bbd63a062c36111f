import { err, type Result } from "../result.js";
import { KIND } from "./constants.js";
import { finishParse, readEnvelope } from "./envelope.js";
import { parseAzureIdentity } from "./parse-azure-identity.js";
import { validationError } from "./parse-object-meta.js";
import { parseAzureIdentityBinding } from "./parse-azure-identity-binding.js";
import type { AssignedIdentityWireStatus, AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding } from "./types.js";
import type { ValidationError, ValidationIssue, ValidationReason } from "./validation.js";
import { addIssue, isJsonObject, joinPath, jsonType, pick, readString, type JsonObject } from "./wire-reader.js";

const STATUSES: readonly AssignedIdentityWireStatus[] = ["Created", "Assigned", "Unassigned", ""];

/** `metadata.namespace` of an embedded object, when it is a non-empty string. */
function embeddedNamespace(value: unknown): string {
  if (!isJsonObject(value)) return "";
  const meta = value["metadata"];
  if (!isJsonObject(meta)) return "";
  const ns = meta["namespace"];
  return typeof ns === "string" ? ns : "";
}

/** Re-files the issues of an embedded object under `field` with the embedded-object reason. */
function nestIssues(
  issues: ValidationIssue[],
  nested: readonly ValidationIssue[],
  reason: ValidationReason,
  field: string,
  what: string,
): void {
  for (const issue of nested) {
    issues.push({
      reason,
      field: issue.field === "" ? field : joinPath(field, issue.field),
      message: `embedded ${what}: ${issue.message}`,
      nestedReason: issue.reason,
    });
  }
}

/** Reads `status.status` (legacy `Status` too); absent means `""`, the pre-1.5 value treated as Assigned. */
function readStatus(object: JsonObject, issues: ValidationIssue[]): AssignedIdentityWireStatus {
  const status = pick(object, ["status", "Status"]);
  if (status === undefined) return "";
  if (!isJsonObject(status)) {
    addIssue(issues, "invalidFieldType", "status", `expected an object, got ${jsonType(status)}`);
    return "";
  }
  const value = pick(status, ["status", "Status"]);
  if (value === undefined) return "";
  const found = STATUSES.find((s) => s === value);
  if (found === undefined) {
    addIssue(issues, "invalidStatus", "status.status", `unknown status ${JSON.stringify(value)}: expected Created, Assigned, Unassigned or ""`);
    return "";
  }
  return found;
}

/**
 * Parses an `AzureAssignedIdentity` as the original's MIC writes it (and as pre-1.6 MIC wrote it, with
 * `AzureIdentityRef`, `AzureBindingRef`, `Pod`, `PodNamespace`, `NodeName`; camelCase wins). The node
 * field's real v1 wire name is lower-case `nodename`; `nodeName` is accepted too. The embedded identity and
 * binding must themselves be valid (their issues are reported as `invalidEmbeddedIdentity` /
 * `invalidEmbeddedBinding` with the inner reason in `nestedReason`).
 *
 * Embedded copies always carry full metadata in the original. If one lacks `metadata.namespace` anyway,
 * it is taken from the other embedded object (an identity is always looked up in its binding's namespace,
 * so the two share it), and only when neither has one from `spec.podNamespace` (right in namespaced mode,
 * and the only remaining hint otherwise). The AAI's own namespace is not used: it is usually `default`,
 * which says nothing about where the identity lives.
 */
export function parseAzureAssignedIdentity(raw: unknown): Result<AzureAssignedIdentity, ValidationError> {
  const envelope = readEnvelope(raw, { objectKind: KIND.AzureAssignedIdentity, namespaced: true });
  if (!envelope.ok) return envelope;
  const { spec, metadata, issues, object } = envelope.value;
  const pod = readString(spec, ["pod", "Pod"], "spec", issues);
  const podNamespace = readString(spec, ["podNamespace", "PodNamespace"], "spec", issues);
  const nodeName = readString(spec, ["nodename", "nodeName", "NodeName"], "spec", issues);
  if (pod === "") addIssue(issues, "missingPod", "spec.pod", "pod is required");
  if (podNamespace === "") addIssue(issues, "missingPodNamespace", "spec.podNamespace", "podNamespace is required");
  if (nodeName === "") addIssue(issues, "missingNodeName", "spec.nodename", "nodename is required");

  const rawIdentity = pick(spec, ["azureIdentityRef", "AzureIdentityRef"]);
  const rawBinding = pick(spec, ["azureBindingRef", "AzureBindingRef"]);
  const identityNs = embeddedNamespace(rawBinding) || podNamespace;
  const bindingNs = embeddedNamespace(rawIdentity) || podNamespace;

  let identity: AzureIdentity | undefined;
  if (rawIdentity === undefined) {
    addIssue(issues, "invalidEmbeddedIdentity", "spec.azureIdentityRef", "azureIdentityRef is required");
  } else {
    const parsed = parseAzureIdentity(rawIdentity, identityNs === "" ? {} : { defaultNamespace: identityNs });
    if (parsed.ok) identity = parsed.value;
    else nestIssues(issues, parsed.error.issues, "invalidEmbeddedIdentity", "spec.azureIdentityRef", "AzureIdentity");
  }
  let binding: AzureIdentityBinding | undefined;
  if (rawBinding === undefined) {
    addIssue(issues, "invalidEmbeddedBinding", "spec.azureBindingRef", "azureBindingRef is required");
  } else {
    const parsed = parseAzureIdentityBinding(rawBinding, bindingNs === "" ? {} : { defaultNamespace: bindingNs });
    if (parsed.ok) binding = parsed.value;
    else nestIssues(issues, parsed.error.issues, "invalidEmbeddedBinding", "spec.azureBindingRef", "AzureIdentityBinding");
  }
  const status = readStatus(object, issues);
  if (identity === undefined || binding === undefined) {
    // The missing or invalid embedded object has already recorded at least one issue.
    return err(validationError(KIND.AzureAssignedIdentity, metadata, issues));
  }
  return finishParse(KIND.AzureAssignedIdentity, envelope.value, {
    kind: "AzureAssignedIdentity",
    metadata,
    spec: { azureIdentityRef: identity, azureBindingRef: binding, pod, podNamespace, nodeName },
    status,
  });
}
