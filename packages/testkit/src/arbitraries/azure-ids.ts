import fc from "fast-check";
import type { ComputeTarget } from "@podid/core";
import {
  NODE_POOL_HASH_POOL,
  NODE_POOL_NAME_POOL,
  NODE_RESOURCE_GROUP_POOL,
  SUBSCRIPTION_POOL,
  USER_ASSIGNED_IDENTITY_POOL,
  type UserAssignedIdentityFixture,
} from "./pools.js";
import { plainRecord } from "./object-meta.js";

/**
 * `text` in its written casing most of the time, otherwise all lower, all upper or randomly mixed.
 * ARM ids are case-insensitive, and real clusters contain every variant (portal, CLI and ARM itself
 * disagree on `resourceGroups` vs `resourcegroups`).
 */
export function caseVariantArb(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constant(text), weight: 4 },
    { arbitrary: fc.constant(text.toLowerCase()), weight: 1 },
    { arbitrary: fc.constant(text.toUpperCase()), weight: 1 },
    { arbitrary: fc.mixedCase(fc.constant(text)), weight: 1 },
  );
}

/** A user-assigned identity from {@link USER_ASSIGNED_IDENTITY_POOL}. */
export const userAssignedIdentityFixtureArb: fc.Arbitrary<UserAssignedIdentityFixture> = fc.constantFrom(
  ...USER_ASSIGNED_IDENTITY_POOL,
);

/** The ARM id of `fixture`, with every segment in a random case variant (all denote the same resource). */
export function userAssignedIdentityIdStringArb(fixture: UserAssignedIdentityFixture): fc.Arbitrary<string> {
  return fc
    .tuple(
      caseVariantArb("subscriptions"),
      caseVariantArb(fixture.subscriptionId),
      caseVariantArb("resourceGroups"),
      caseVariantArb(fixture.resourceGroup),
      caseVariantArb("Microsoft.ManagedIdentity"),
      caseVariantArb("userAssignedIdentities"),
      caseVariantArb(fixture.name),
    )
    .map(([s, sub, r, rg, p, t, name]) => `/${s}/${sub}/${r}/${rg}/providers/${p}/${t}/${name}`);
}

/** A valid ARM id segment value: no slash, no whitespace, non-empty (names ARM would accept). */
export const armNameArb: fc.Arbitrary<string> = fc.stringMatching(/^[A-Za-z0-9][-A-Za-z0-9_.()]{0,14}$/);

/** Any syntactically valid user-assigned identity id (not only pool members), with its parts. */
export const anyUserAssignedIdentityIdArb: fc.Arbitrary<{
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}> = plainRecord({ subscriptionId: fc.oneof(fc.uuid(), armNameArb), resourceGroup: armNameArb, name: armNameArb })
  .chain((parts) =>
    userAssignedIdentityIdStringArb({ ...parts, clientID: "" }).map((id) => ({ ...parts, id })),
  );

/** A compute target from the node pools: a standalone VM or a scale set. */
export const computeTargetArb: fc.Arbitrary<ComputeTarget> = plainRecord({
  kind: fc.constantFrom("vm" as const, "vmss" as const),
  subscriptionId: fc.constantFrom(...SUBSCRIPTION_POOL),
  resourceGroup: fc.constantFrom(...NODE_RESOURCE_GROUP_POOL),
  name: fc
    .tuple(fc.constantFrom(...NODE_POOL_NAME_POOL), fc.constantFrom(...NODE_POOL_HASH_POOL), fc.nat(9))
    .map(([pool, hash, n]) => `aks-${pool}-${hash}-${n}`),
});

/** The `spec.providerID` of a standalone VM. */
export function vmProviderId(subscriptionId: string, resourceGroup: string, vmName: string): string {
  return `azure:///subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
}

/** The `spec.providerID` of a VMSS (uniform) instance. */
export function vmssProviderId(
  subscriptionId: string,
  resourceGroup: string,
  scaleSetName: string,
  instanceId: string,
): string {
  return `azure:///subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSetName}/virtualMachines/${instanceId}`;
}

/**
 * The AKS node name of VMSS instance `instanceId`: the scale set name followed by the instance id in
 * base 36, zero-padded to six characters (`aks-pool-12345678-vmss` + 10 → `aks-pool-12345678-vmss00000a`).
 */
export function aksVmssNodeName(scaleSetName: string, instanceId: number): string {
  return `${scaleSetName}${instanceId.toString(36).padStart(6, "0")}`;
}
