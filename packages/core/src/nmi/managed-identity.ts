import { BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentity, AzureIdentityBinding, PodView } from "../model/types.js";
import { selectCandidate, type SelectionOptions } from "./identity-selection.js";
import type { IdentityRequest } from "./standard-identity.js";
import type { IdentitySelector } from "./token-request.js";

/**
 * Managed mode (`--operationMode=managed`): no MIC and no AAIs; the operator attaches identities to the
 * VMs/VMSS, and NMI grants a pod the identities its label binds in its own namespace.
 * @packageDocumentation
 */

/** The outcome of managed-mode identity choice (no waiting: nothing will be assigned later). */
export type ManagedIdentityChoice =
  | {
      readonly kind: "chosen";
      readonly mode: "managed";
      readonly identity: AzureIdentity;
      readonly binding: AzureIdentityBinding;
    }
  /** No binding/identity pair for the pod, or none matching `selector` when one was given. */
  | { readonly kind: "notFound"; readonly mode: "managed"; readonly selector?: IdentitySelector };

/** One (binding, identity) pair granting an identity to a pod. */
interface Grant {
  readonly binding: AzureIdentityBinding;
  readonly identity: AzureIdentity;
}

/**
 * The identity for a token request in managed mode (`pkg/nmi/managed.go`): bindings in the pod's namespace
 * whose `selector` equals the pod's `aadpodidbinding` label exactly (a pod without the label has none),
 * then identities in that same namespace named by them; selection as in standard mode (case-insensitive
 * ids, deterministic order). Objects being deleted are ignored.
 */
export function chooseManagedIdentity(
  pod: PodView,
  bindings: readonly AzureIdentityBinding[],
  identities: readonly AzureIdentity[],
  request: IdentityRequest,
  options: SelectionOptions = {},
): ManagedIdentityChoice {
  const namespace = pod.metadata.namespace;
  const label = pod.metadata.labels[BINDING_LABEL];
  const notFound: ManagedIdentityChoice =
    request.selector === undefined
      ? { kind: "notFound", mode: "managed" }
      : { kind: "notFound", mode: "managed", selector: request.selector };
  if (label === undefined) return notFound;
  const grants: Grant[] = [];
  for (const binding of bindings) {
    if (binding.metadata.namespace !== namespace || binding.spec.selector !== label) continue;
    if (binding.metadata.deletionTimestamp !== undefined) continue;
    for (const identity of identities) {
      if (identity.metadata.namespace !== namespace || identity.metadata.name !== binding.spec.azureIdentity) continue;
      if (identity.metadata.deletionTimestamp !== undefined) continue;
      grants.push({ binding, identity });
    }
  }
  const chosen = selectCandidate(
    grants,
    (g) => g.identity,
    (g) => g.binding.metadata,
    request.selector,
    options,
  );
  return chosen === undefined
    ? notFound
    : { kind: "chosen", mode: "managed", identity: chosen.identity, binding: chosen.binding };
}
