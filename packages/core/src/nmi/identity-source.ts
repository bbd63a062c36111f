import type { AzureAssignedIdentity, AzureIdentity, AzureIdentityBinding, PodView } from "../model/types.js";
import { assignedIdentitiesNaming, type AssignedIdentitiesByPod } from "./decision-index.js";
import type { SelectionOptions } from "./identity-selection.js";
import { chooseManagedIdentity, type ManagedIdentityChoice } from "./managed-identity.js";
import {
  chooseStandardIdentity,
  type IdentityRequest,
  type StandardChoiceOptions,
  type StandardIdentityChoice,
} from "./standard-identity.js";

/**
 * The operation mode together with the cache snapshot it chooses identities from.
 * @packageDocumentation
 */

/** Where identities come from: MIC's AAIs backed by the live bindings + identities (standard), or bindings + identities directly (managed). */
export type IdentitySource =
  | {
      readonly mode: "standard";
      /** AAIs of this node (the NMI informer is filtered by the `nodename` label). */
      readonly assignedIdentities: readonly AzureAssignedIdentity[];
      /**
       * When present, exactly `indexAssignedIdentitiesByPod(assignedIdentities)`: the pod's own AAIs are then
       * one lookup (only AAIs naming the pod can grant it anything). Never changes an answer.
       */
      readonly assignedIdentitiesByPod?: AssignedIdentitiesByPod;
      /** Live bindings of every namespace: an AAI is honoured only when they still grant it. */
      readonly bindings: readonly AzureIdentityBinding[];
      /** Live identities of every namespace: a grant uses these, never an AAI's embedded copy. */
      readonly identities: readonly AzureIdentity[];
      readonly options: StandardChoiceOptions;
    }
  | {
      readonly mode: "managed";
      readonly bindings: readonly AzureIdentityBinding[];
      readonly identities: readonly AzureIdentity[];
      readonly options?: SelectionOptions;
    };

/** The outcome of identity choice in either mode. */
export type IdentityChoice = StandardIdentityChoice | ManagedIdentityChoice;

/** Chooses the identity for `pod` and `request` with the rules of the source's mode. */
export function chooseIdentity(pod: PodView, request: IdentityRequest, source: IdentitySource): IdentityChoice {
  if (source.mode === "managed") return chooseManagedIdentity(pod, source.bindings, source.identities, request, source.options ?? {});
  const byPod = source.assignedIdentitiesByPod;
  const assigned = byPod === undefined ? source.assignedIdentities : assignedIdentitiesNaming(byPod, pod.metadata.namespace, pod.metadata.name);
  return chooseStandardIdentity(pod, assigned, source, request, source.options);
}
