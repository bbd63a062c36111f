import type { Result } from "../result.js";
import { KIND } from "./constants.js";
import { finishParse, readEnvelope } from "./envelope.js";
import type { ParseOptions } from "./parse-azure-identity.js";
import type { AzureIdentityBinding } from "./types.js";
import type { ValidationError } from "./validation.js";
import { addIssue, readOptionalInteger, readString } from "./wire-reader.js";

/**
 * Parses an `AzureIdentityBinding` (camelCase `azureIdentity`/`selector`/`weight` or legacy
 * `AzureIdentity`/`Selector`/`Weight`; camelCase wins). Both `azureIdentity` and `selector` are required:
 * a binding without them can never match anything, and the original silently skipped it. `weight` is kept
 * only for round trips (the original never reads it).
 */
export function parseAzureIdentityBinding(
  raw: unknown,
  options: ParseOptions = {},
): Result<AzureIdentityBinding, ValidationError> {
  const envelope = readEnvelope(raw, { objectKind: KIND.AzureIdentityBinding, namespaced: true, ...options });
  if (!envelope.ok) return envelope;
  const { spec, metadata, issues } = envelope.value;
  const azureIdentity = readString(spec, ["azureIdentity", "AzureIdentity"], "spec", issues);
  const selector = readString(spec, ["selector", "Selector"], "spec", issues);
  const weight = readOptionalInteger(spec, ["weight", "Weight"], "spec", issues);
  if (azureIdentity === "") addIssue(issues, "missingIdentityName", "spec.azureIdentity", "azureIdentity (the AzureIdentity name) is required");
  if (selector === "") addIssue(issues, "missingSelector", "spec.selector", "selector (the aadpodidbinding label value) is required");
  return finishParse(KIND.AzureIdentityBinding, envelope.value, {
    kind: "AzureIdentityBinding",
    metadata,
    spec: weight === undefined ? { azureIdentity, selector } : { azureIdentity, selector, weight },
  });
}
