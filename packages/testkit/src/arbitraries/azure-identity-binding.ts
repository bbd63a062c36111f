import fc from "fast-check";
import type { AzureIdentityBinding } from "@podid/core";
import { objectMetaArb } from "./object-meta.js";
import { IDENTITY_NAME_POOL, NAMESPACE_POOL, SELECTOR_POOL } from "./pools.js";

/** Options of {@link azureIdentityBindingArb}. */
export interface AzureIdentityBindingArbOptions {
  /** Namespaces to draw from (default {@link NAMESPACE_POOL}). */
  readonly namespaces?: readonly string[];
  /** Binding names (default: any DNS-1123 label). */
  readonly names?: readonly string[];
  /** Identity names the binding may reference (default {@link IDENTITY_NAME_POOL}). */
  readonly identityNames?: readonly string[];
  /** Selectors to draw from (default {@link SELECTOR_POOL}). */
  readonly selectors?: readonly string[];
}

/** A valid AzureIdentityBinding (non-empty `azureIdentity` and `selector`), weight sometimes set. */
export function azureIdentityBindingArb(options: AzureIdentityBindingArbOptions = {}): fc.Arbitrary<AzureIdentityBinding> {
  const names = options.names;
  return fc
    .record(
      {
        metadata: objectMetaArb({
          namespaces: options.namespaces ?? NAMESPACE_POOL,
          ...(names !== undefined ? { names } : {}),
          labels: fc.constant({}),
        }),
        azureIdentity: fc.constantFrom(...(options.identityNames ?? IDENTITY_NAME_POOL)),
        selector: fc.constantFrom(...(options.selectors ?? SELECTOR_POOL)),
        weight: fc.integer({ min: 0, max: 100 }),
      },
      { requiredKeys: ["metadata", "azureIdentity", "selector"], noNullPrototype: true },
    )
    .map(
      (b): AzureIdentityBinding => ({
        kind: "AzureIdentityBinding",
        metadata: b.metadata,
        spec:
          b.weight === undefined
            ? { azureIdentity: b.azureIdentity, selector: b.selector }
            : { azureIdentity: b.azureIdentity, selector: b.selector, weight: b.weight },
      }),
    );
}
