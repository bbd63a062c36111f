/** Why an ARM id or node `spec.providerID` was rejected. */
export type AzureIdErrorReason =
  /** The id is the empty string (e.g. a legacy PascalCase identity read as camelCase, see the original's docs). */
  | "emptyId"
  /** The id contains whitespace anywhere (ARM names never do; usually a YAML copy-paste accident). */
  | "containsWhitespace"
  /** The id does not start with `/`. */
  | "missingLeadingSlash"
  /** The id ends with `/` (ARM itself never returns such ids; rejecting keeps keys unambiguous). */
  | "trailingSlash"
  /** Two slashes in a row, i.e. an empty subscription, resource group or name. */
  | "emptySegment"
  /** Too few or too many path segments. */
  | "wrongSegmentCount"
  /** A fixed segment (`subscriptions`, `resourceGroups`, `providers`) is not where it must be. */
  | "unexpectedSegment"
  /** The resource provider is not the expected one (e.g. not `Microsoft.ManagedIdentity`). */
  | "wrongProvider"
  /** The resource type is not the expected one (e.g. not `userAssignedIdentities`). */
  | "wrongResourceType"
  /** A node without `spec.providerID` (cloud provider not initialised, or not an Azure node). */
  | "emptyProviderId"
  /** The providerID does not use the `azure://` scheme (another cloud, kind, bare metal). */
  | "notAzureProvider"
  /** The providerID uses `azure://` but its ARM path is not well formed. */
  | "malformedProviderId"
  /** A well-formed Azure providerID for something other than a VM or a uniform VMSS instance. */
  | "unsupportedResourceType";

/** A rejected ARM id or providerID: the reason, the exact input, and a sentence for logs and Events. */
export interface AzureIdError {
  readonly kind: "invalidAzureId";
  readonly reason: AzureIdErrorReason;
  readonly input: string;
  readonly message: string;
}

/** Builds an {@link AzureIdError}. */
export function azureIdError(reason: AzureIdErrorReason, input: string, message: string): AzureIdError {
  return { kind: "invalidAzureId", reason, input, message };
}
