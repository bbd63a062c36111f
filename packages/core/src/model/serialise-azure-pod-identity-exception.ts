import { GROUP_VERSION } from "./constants.js";
import { serialiseObjectMeta } from "./serialise-object-meta.js";
import type { AzurePodIdentityException } from "./types.js";
import type { WireAzurePodIdentityException } from "./wire-types.js";

/** An AzurePodIdentityException as wire JSON, camelCase only. */
export function serialiseAzurePodIdentityException(exception: AzurePodIdentityException): WireAzurePodIdentityException {
  return {
    apiVersion: GROUP_VERSION,
    kind: "AzurePodIdentityException",
    metadata: serialiseObjectMeta(exception.metadata),
    spec: { podLabels: { ...exception.spec.podLabels } },
  };
}
