/** Types shared by the ARM id parsers and everything that talks about VMs and scale sets. */

/** A parsed, validated ARM id of a user-assigned managed identity. */
export interface UserAssignedIdentityId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /**
   * The canonical key: the whole id in lower case, as
   * `/subscriptions/<s>/resourcegroups/<rg>/providers/microsoft.managedidentity/userassignedidentities/<name>`.
   * ARM treats these ids case-insensitively; podid compares and stores only this form.
   */
  readonly key: string;
}

/** Where a node's identities live: the VM itself, or (for VMSS uniform instances) the whole scale set. */
export type ComputeTarget =
  | {
      readonly kind: "vm";
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      /** The VM name. */
      readonly name: string;
    }
  | {
      readonly kind: "vmss";
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      /** The scale set name. */
      readonly name: string;
    };

/** A parsed node `spec.providerID`: the compute target plus, for VMSS, the instance id. */
export interface ParsedProviderId {
  readonly target: ComputeTarget;
  /** The VMSS instance id (`virtualMachines/<n>`); absent for standalone VMs. */
  readonly instanceId?: string;
}

/** ARM's `identity.type` values. */
export type ResourceIdentityType = "None" | "SystemAssigned" | "UserAssigned" | "SystemAssigned, UserAssigned";

/** The identity block of a VM or scale set as ARM reports it. */
export interface ComputeIdentityState {
  readonly type: ResourceIdentityType;
  /** Ids of attached user-assigned identities, as ARM returned them (any case). */
  readonly userAssignedIdentityIds: readonly string[];
  /** `properties.provisioningState`, e.g. `Succeeded`, `Updating`, `Deleting`. */
  readonly provisioningState?: string;
  /** ARM etag, for If-Match on the next PATCH. */
  readonly etag?: string;
}

/**
 * The body of one identity PATCH: `userAssignedIdentities` maps ids to `{}` (attach) or `null` (detach).
 * When the last user-assigned identity goes, the map is omitted and `type` alone says what remains.
 */
export interface IdentityPatch {
  readonly identity: {
    readonly type: ResourceIdentityType;
    readonly userAssignedIdentities?: Readonly<Record<string, Record<string, never> | null>>;
  };
}
