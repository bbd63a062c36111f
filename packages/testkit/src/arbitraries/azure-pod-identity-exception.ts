import fc from "fast-check";
import type { AzurePodIdentityException } from "@podid/core";
import { objectMetaArb, plainRecord } from "./object-meta.js";
import { NAMESPACE_POOL, POD_LABEL_POOL } from "./pools.js";

/** Options of {@link azurePodIdentityExceptionArb}. */
export interface AzurePodIdentityExceptionArbOptions {
  /** Namespaces to draw from (default {@link NAMESPACE_POOL}). */
  readonly namespaces?: readonly string[];
}

/**
 * A valid AzurePodIdentityException whose `podLabels` come from the same pool as pod labels (values
 * sometimes in another case, since the original compares values ignoring case).
 */
export function azurePodIdentityExceptionArb(
  options: AzurePodIdentityExceptionArbOptions = {},
): fc.Arbitrary<AzurePodIdentityException> {
  return plainRecord({
      metadata: objectMetaArb({ namespaces: options.namespaces ?? NAMESPACE_POOL }),
      labels: fc.subarray([...POD_LABEL_POOL], { minLength: 1, maxLength: 2 }),
      upper: fc.boolean(),
    })
    .map(
      ({ metadata, labels, upper }): AzurePodIdentityException => ({
        kind: "AzurePodIdentityException",
        metadata,
        spec: { podLabels: Object.fromEntries(labels.map(([k, v]) => [k, upper ? v.toUpperCase() : v])) },
      }),
    );
}
