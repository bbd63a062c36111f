/** Why a field of a Kubernetes object was rejected. */
export type ValidationReason =
  /** The object (or a nested object that must be one) is not a JSON object. */
  | "notAnObject"
  /** `kind` is present and names another kind (a caller passed the wrong object). */
  | "wrongKind"
  /** `metadata` is absent or null. */
  | "missingMetadata"
  | "missingName"
  | "missingNamespace"
  /** A field has the wrong JSON type (e.g. a number where a string belongs). */
  | "invalidFieldType"
  /** AzureIdentity `spec.type` is not 0, 1, 2 or 3. */
  | "unknownIdentityType"
  /**
   * Type-0 or type-3 identity without `resourceID` (for type 0 the usual symptom of legacy PascalCase YAML read by a
   * camelCase client).
   */
  | "missingResourceID"
  /** Type-0 or type-3 identity whose `resourceID` is not a user-assigned identity ARM id. */
  | "malformedResourceID"
  | "missingClientID"
  | "missingTenantID"
  /** Type 1/2 identity without `clientPassword.name`. */
  | "missingSecretRef"
  /** Type-3 (federated) identity without `tenantID`: the token exchange needs the identity's tenant. */
  | "federatedTenantMissing"
  /** Type-3 (federated) identity whose `serviceAccounts` is absent or empty: it would trust no pod. */
  | "federatedServiceAccountsMissing"
  /** An entry of `spec.serviceAccounts` is not a valid service-account name (DNS-1123 subdomain). */
  | "invalidServiceAccountName"
  /** Binding without `azureIdentity`. */
  | "missingIdentityName"
  /** Binding without `selector`. */
  | "missingSelector"
  /** AzureAssignedIdentity `status.status` not one of Created, Assigned, Unassigned or `""`. */
  | "invalidStatus"
  /** AzureAssignedIdentity `spec.azureIdentityRef` absent or invalid. */
  | "invalidEmbeddedIdentity"
  /** AzureAssignedIdentity `spec.azureBindingRef` absent or invalid. */
  | "invalidEmbeddedBinding"
  /** AzureAssignedIdentity without `spec.pod`. */
  | "missingPod"
  /** AzureAssignedIdentity without `spec.podNamespace`. */
  | "missingPodNamespace"
  /** AzureAssignedIdentity without `spec.nodename`. */
  | "missingNodeName"
  /** AzurePodIdentityException `spec.podLabels` is not a map of strings. */
  | "invalidPodLabels";

/** One problem found in an object. */
export interface ValidationIssue {
  readonly reason: ValidationReason;
  /** Dotted path of the offending field, e.g. `spec.resourceID` or `spec.azureIdentityRef.spec.clientID`. */
  readonly field: string;
  /** One sentence for humans. */
  readonly message: string;
  /**
   * For `invalidEmbeddedIdentity` / `invalidEmbeddedBinding`: the reason the embedded object itself gave,
   * so callers can still tell a missing resourceID from a bad type inside an AzureAssignedIdentity.
   */
  readonly nestedReason?: ValidationReason;
}

/** A rejected object: which one, and every issue found (the parsers never stop at the first). */
export interface ValidationError {
  readonly kind: "invalid";
  /** `AzureIdentity`, `Pod`, … */
  readonly objectKind: string;
  /** As far as it could be read; `""` when unknown. */
  readonly namespace: string;
  /** As far as it could be read; `""` when unknown. */
  readonly name: string;
  /** Never empty. */
  readonly issues: readonly ValidationIssue[];
}

/**
 * One sentence describing `error` for Events and logs, e.g.
 * `AzureIdentity team-a/reader is invalid: spec.resourceID: resourceID is required for a user-assigned identity (type 0)`.
 * Several issues are joined with `; `.
 */
export function describeValidationError(error: ValidationError): string {
  const who =
    error.name === ""
      ? `${error.objectKind} (unnamed)`
      : error.namespace === ""
        ? `${error.objectKind} ${error.name}`
        : `${error.objectKind} ${error.namespace}/${error.name}`;
  const details = error.issues.map((i) => (i.field === "" ? i.message : `${i.field}: ${i.message}`)).join("; ");
  return `${who} is invalid: ${details === "" ? "unknown problem" : details}`;
}
