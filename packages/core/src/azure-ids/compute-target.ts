import { err, ok, type Result } from "../result.js";
import { readArmPrefix, sameSegment, splitArmPath } from "./arm-path.js";
import { azureIdError, type AzureIdError } from "./errors.js";
import type { ComputeTarget } from "./types.js";

const WHAT = "compute resource id";
const PROVIDER = "Microsoft.Compute";

/** ARM's resource type segment for each kind of compute target. */
const RESOURCE_TYPE = { vm: "virtualMachines", vmss: "virtualMachineScaleSets" } as const;

/**
 * The ARM id of the VM or scale set, with ARM's segment spelling and the values in their original casing,
 * as the GET/PATCH URLs need them.
 */
export function computeTargetId(target: ComputeTarget): string {
  return `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/${PROVIDER}/${RESOURCE_TYPE[target.kind]}/${target.name}`;
}

/**
 * The canonical key of the VM or scale set: its whole ARM id in lower case. ARM ids are case-insensitive
 * and nodes of one scale set may spell the resource group differently (AKS writes `MC_…` in mixed case),
 * so grouping nodes by VMSS must use this key, never the raw strings.
 */
export function computeTargetKey(target: ComputeTarget): string {
  return computeTargetId(target).toLowerCase();
}

/**
 * Parses the ARM id of a VM or scale set (`…/providers/Microsoft.Compute/virtualMachines/<n>` or
 * `…/virtualMachineScaleSets/<n>`), the inverse of {@link computeTargetId}. Segment names compare
 * case-insensitively; values keep their casing.
 */
export function parseComputeTargetId(id: string): Result<ComputeTarget, AzureIdError> {
  const split = splitArmPath(id, WHAT);
  if (!split.ok) return split;
  const segments = split.value;
  if (segments.length !== 8) {
    return err(azureIdError("wrongSegmentCount", id, `${WHAT} "${id}" has ${segments.length} segments, expected 8`));
  }
  const prefix = readArmPrefix(segments, id, WHAT, PROVIDER);
  if (!prefix.ok) return prefix;
  const type = segments[6];
  const kind = sameSegment(type, RESOURCE_TYPE.vm) ? "vm" : sameSegment(type, RESOURCE_TYPE.vmss) ? "vmss" : undefined;
  if (kind === undefined) {
    return err(
      azureIdError("wrongResourceType", id, `${WHAT} "${id}" names resource type "${type ?? ""}", expected a VM or scale set`),
    );
  }
  return ok({ kind, ...prefix.value, name: segments[7] ?? "" });
}
