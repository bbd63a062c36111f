import { err, ok, type Result } from "../result.js";
import { readArmPrefix, sameSegment, splitArmPath } from "./arm-path.js";
import { azureIdError, type AzureIdError } from "./errors.js";
import type { ParsedProviderId } from "./types.js";

const SCHEME = "azure://";
const WHAT = "providerID";

/**
 * Parses a node's `spec.providerID`:
 * `azure:///subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<vm>` (standalone
 * VM, or a VMSS Flex instance, which ARM also addresses as a VM) or
 * `azure:///subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachineScaleSets/<ss>/virtualMachines/<instance>`
 * (uniform VMSS instance; identities are assigned to the whole scale set, as in the original's
 * `consolidateVMSSNodes`). The scheme and segment names compare case-insensitively; the values keep their
 * casing because ARM URLs are built from them. Unlike the original, the subscription and resource group come
 * from the providerID, not from the cloud config, so nodes in other resource groups are addressed correctly.
 */
export function parseProviderId(providerID: string): Result<ParsedProviderId, AzureIdError> {
  if (providerID === "") {
    return err(azureIdError("emptyProviderId", providerID, "node has no spec.providerID (cloud provider not initialised?)"));
  }
  if (providerID.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    return err(azureIdError("notAzureProvider", providerID, `${WHAT} "${providerID}" is not an Azure provider id (azure://…)`));
  }
  const split = splitArmPath(providerID.slice(SCHEME.length), WHAT);
  if (!split.ok) {
    return err(azureIdError("malformedProviderId", providerID, `${split.error.message} in "${providerID}"`));
  }
  const segments = split.value;
  if (segments.length !== 8 && segments.length !== 10) {
    return err(
      azureIdError(
        "malformedProviderId",
        providerID,
        `${WHAT} "${providerID}" has ${segments.length} path segments, expected 8 (VM) or 10 (VMSS instance)`,
      ),
    );
  }
  const prefix = readArmPrefix(segments, providerID, WHAT, "Microsoft.Compute");
  if (!prefix.ok) {
    const reason = prefix.error.reason === "wrongProvider" ? "unsupportedResourceType" : "malformedProviderId";
    return err(azureIdError(reason, providerID, prefix.error.message));
  }
  const { subscriptionId, resourceGroup } = prefix.value;
  const [, , , , , , type, name, childType, instanceId] = segments;
  if (segments.length === 8 && sameSegment(type, "virtualMachines")) {
    return ok({ target: { kind: "vm", subscriptionId, resourceGroup, name: name ?? "" } });
  }
  if (segments.length === 10 && sameSegment(type, "virtualMachineScaleSets") && sameSegment(childType, "virtualMachines")) {
    return ok({ target: { kind: "vmss", subscriptionId, resourceGroup, name: name ?? "" }, instanceId: instanceId ?? "" });
  }
  return err(
    azureIdError(
      "unsupportedResourceType",
      providerID,
      `${WHAT} "${providerID}" is neither a virtual machine nor a virtual machine scale set instance`,
    ),
  );
}
