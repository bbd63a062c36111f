import type { AzureIdentity, AzurePodIdentityException, PodView } from "../model/types.js";
import { isPodExcepted } from "../matching/exceptions.js";
import { matchesSelector } from "./identity-selection.js";
import type { IdentitySelector } from "./token-request.js";

/**
 * Which AzurePodIdentityExceptions NMI honours, and what an excepted pod may obtain. An exception exists for
 * node agents (MIC, add-ons) that need the node's own identity; in the original any user could create one in
 * their own namespace and then ask IMDS, through NMI, for every user-assigned identity attached to the scale
 * set — including the identities podid hands out to other pods. podid honours exceptions only in the
 * namespaces the operator lists, and gives an excepted pod only identities no AzureIdentity names.
 * See docs/compatibility.md ("AzurePodIdentityException fields").
 * @packageDocumentation
 */

/**
 * `--exception-namespaces` default: podid's own namespace (where deploy/ puts MIC's exception) and
 * `kube-system` (where AKS add-ons run; the original chart's `aks-addon-exception` lives there).
 */
export const DEFAULT_EXCEPTION_NAMESPACES: readonly string[] = ["podid-system", "kube-system"];

/** The operator's exception policy (`--exception-namespaces`, `--exception-passthrough`). */
export interface ExceptionPolicy {
  /** Namespaces whose exceptions are honoured; exceptions anywhere else have no effect. */
  readonly namespaces: readonly string[];
  /**
   * The original's passthrough: an excepted pod may ask IMDS for any identity, including those AzureIdentities
   * name (off by default).
   */
  readonly passthrough: boolean;
}

/** Why an excepted pod's request is refused (403). */
export type ExceptionRefusal =
  /** The selector names an identity an AzureIdentity of the cluster names: podid manages it for other pods. */
  | {
      readonly kind: "managedIdentity";
      readonly selector: IdentitySelector;
      readonly identity: { readonly namespace: string; readonly name: string };
    }
  /**
   * `object_id`: AzureIdentity records no principal id, so podid cannot tell whether the object id belongs
   * to an identity it manages; refused rather than guessed.
   */
  | { readonly kind: "unverifiableSelector"; readonly selector: IdentitySelector };

/** What the exception rule says about a token request. */
export type ExceptionVerdict =
  /** No honoured exception applies: the pod is decided like any other pod. */
  | { readonly kind: "notExcepted" }
  /** Excepted: ask IMDS directly with the request's own selector (or none: the system-assigned identity). */
  | { readonly kind: "allowed" }
  /** Excepted, but the requested identity is not the node's own. */
  | { readonly kind: "refused"; readonly reason: ExceptionRefusal };

/**
 * The exception rule for a token request from `pod` with `selector`:
 * 1. Only exceptions in the pod's own namespace count (`isPodExcepted`), and only when that namespace is one
 *    of `policy.namespaces` — otherwise `notExcepted`.
 * 2. With `policy.passthrough` every selector is `allowed` (the original).
 * 3. No selector (the system-assigned identity) is `allowed`; a `client_id`/`msi_res_id` that any
 *    AzureIdentity in `managedIdentities` names (case-insensitively, `matchesSelector`) is `refused`, others
 *    are `allowed`; `object_id` is `refused` as unverifiable.
 */
export function decideException(
  pod: PodView,
  exceptions: readonly AzurePodIdentityException[],
  selector: IdentitySelector | undefined,
  managedIdentities: readonly AzureIdentity[],
  policy: ExceptionPolicy,
): ExceptionVerdict {
  if (!policy.namespaces.includes(pod.metadata.namespace) || !isPodExcepted(pod, exceptions)) return { kind: "notExcepted" };
  if (policy.passthrough || selector === undefined) return { kind: "allowed" };
  if (selector.by === "object_id") return { kind: "refused", reason: { kind: "unverifiableSelector", selector } };
  const named = managedIdentities.find((identity) => matchesSelector(identity, selector));
  return named === undefined
    ? { kind: "allowed" }
    : { kind: "refused", reason: { kind: "managedIdentity", selector, identity: { namespace: named.metadata.namespace, name: named.metadata.name } } };
}
