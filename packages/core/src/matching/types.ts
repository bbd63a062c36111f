import type { AzureIdentity, AzureIdentityBinding, PodView } from "../model/types.js";

/** Options that change how pods are matched to identities. */
export interface MatchingOptions {
  /** `--forceNamespaced`: pod, binding and identity must share a namespace for every identity. */
  readonly forceNamespaced: boolean;
}

/** One (pod, identity, binding) pair MIC must record as an AzureAssignedIdentity. */
export interface DesiredAssignment {
  /** The AAI name: `<pod>-<podNamespace>-<identity>`. */
  readonly name: string;
  /** The AAI namespace: the identity's namespace when namespaced, otherwise `default`. */
  readonly namespace: string;
  readonly pod: PodView;
  readonly nodeName: string;
  readonly identity: AzureIdentity;
  readonly binding: AzureIdentityBinding;
}

/** Why a candidate pair produced no assignment; reported so operators can see it (and `podid explain`). */
export type MatchSkip =
  | { readonly reason: "podNotScheduled"; readonly pod: PodView }
  | { readonly reason: "podTerminated"; readonly pod: PodView }
  | { readonly reason: "identityNotFound"; readonly pod: PodView; readonly binding: AzureIdentityBinding }
  | {
      readonly reason: "namespaceMismatch";
      readonly pod: PodView;
      readonly binding: AzureIdentityBinding;
      readonly identity: AzureIdentity;
    }
  /** Two identities with the same name in different namespaces would produce the same AAI name for one pod. */
  | {
      readonly reason: "nameCollision";
      readonly pod: PodView;
      readonly kept: DesiredAssignment;
      readonly dropped: DesiredAssignment;
    };

/** The outcome of matching: assignments in a deterministic order plus every skipped candidate. */
export interface MatchResult {
  readonly assignments: readonly DesiredAssignment[];
  readonly skipped: readonly MatchSkip[];
}
