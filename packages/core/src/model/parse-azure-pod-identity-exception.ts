import type { Result } from "../result.js";
import { KIND } from "./constants.js";
import { finishParse, readEnvelope } from "./envelope.js";
import type { AzurePodIdentityException } from "./types.js";
import type { ValidationError } from "./validation.js";
import { readStringMap } from "./wire-reader.js";

/**
 * Parses an `AzurePodIdentityException` (`spec.podLabels`, legacy `PodLabels`; camelCase wins). Absent
 * labels give an exception that matches nothing, which is valid; labels that are not a map of strings
 * are `invalidPodLabels`.
 */
export function parseAzurePodIdentityException(raw: unknown): Result<AzurePodIdentityException, ValidationError> {
  const envelope = readEnvelope(raw, { objectKind: KIND.AzurePodIdentityException, namespaced: true });
  if (!envelope.ok) return envelope;
  const { spec, metadata, issues } = envelope.value;
  const podLabels = readStringMap(spec, ["podLabels", "PodLabels"], "spec", issues, "invalidPodLabels");
  return finishParse(KIND.AzurePodIdentityException, envelope.value, {
    kind: "AzurePodIdentityException",
    metadata,
    spec: { podLabels },
  });
}
