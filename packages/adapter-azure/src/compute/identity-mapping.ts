import type { VirtualMachineIdentity, VirtualMachineScaleSetIdentity } from "@azure/arm-compute";
import type { ComputeIdentityState, IdentityPatch, ResourceIdentityType } from "@podid/core";

/** The parts of a VM or scale set the adapter reads. */
export interface ArmIdentityHolder {
  readonly identity?: VirtualMachineIdentity | VirtualMachineScaleSetIdentity;
  readonly provisioningState?: string;
  readonly etag?: string;
}

const TYPES: readonly ResourceIdentityType[] = ["None", "SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned"];

/**
 * ARM's `identity.type` as core's type. ARM spells it with varying case and spacing across API versions
 * (`SystemAssigned,UserAssigned`), and an absent identity block means `None`. An unknown value is derived
 * from what is present (a system principal and/or user identities) rather than trusted blindly.
 */
export function normaliseIdentityType(identity: ArmIdentityHolder["identity"]): ResourceIdentityType {
  if (identity === undefined) return "None";
  const squashed = (identity.type ?? "").replace(/\s+/g, "").toLowerCase();
  const known = TYPES.find((t) => t.replace(/\s+/g, "").toLowerCase() === squashed);
  if (known !== undefined) return known;
  const users = Object.keys(identity.userAssignedIdentities ?? {}).length > 0;
  const system = identity.principalId !== undefined && identity.principalId !== "";
  if (system) return users ? "SystemAssigned, UserAssigned" : "SystemAssigned";
  return users ? "UserAssigned" : "None";
}

/**
 * The identity block of a VM or scale set as core's {@link ComputeIdentityState}: type, the attached
 * user-assigned ids exactly as ARM returned them, `provisioningState` and `etag` when present.
 */
export function toComputeIdentityState(resource: ArmIdentityHolder): ComputeIdentityState {
  return {
    type: normaliseIdentityType(resource.identity),
    userAssignedIdentityIds: Object.keys(resource.identity?.userAssignedIdentities ?? {}),
    ...(resource.provisioningState !== undefined ? { provisioningState: resource.provisioningState } : {}),
    ...(resource.etag !== undefined ? { etag: resource.etag } : {}),
  };
}

/**
 * Core's PATCH body as the SDK's identity model. Core builds the exact delta (`{}` attach, `null` detach,
 * ≤150 entries); the SDK's type has no `null` map values but its serializer keeps them on the wire, so the
 * one cast in the adapter happens here. The map is copied so the SDK never holds core's frozen object.
 */
export function toSdkIdentity(patch: IdentityPatch): VirtualMachineIdentity {
  const { type, userAssignedIdentities } = patch.identity;
  if (userAssignedIdentities === undefined) return { type };
  return { type, userAssignedIdentities: { ...userAssignedIdentities } as unknown as NonNullable<VirtualMachineIdentity["userAssignedIdentities"]> };
}
