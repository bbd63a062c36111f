import { GROUP_VERSION } from "./constants.js";
import { serialiseObjectMeta } from "./serialise-object-meta.js";
import type { AzureIdentityBinding } from "./types.js";
import type { WireAzureIdentityBinding } from "./wire-types.js";

/** An AzureIdentityBinding as wire JSON, camelCase only; `weight` only when the model has one. */
export function serialiseAzureIdentityBinding(binding: AzureIdentityBinding): WireAzureIdentityBinding {
  const { azureIdentity, selector, weight } = binding.spec;
  return {
    apiVersion: GROUP_VERSION,
    kind: "AzureIdentityBinding",
    metadata: serialiseObjectMeta(binding.metadata),
    spec: weight === undefined ? { azureIdentity, selector } : { azureIdentity, selector, weight },
  };
}
