/**
 * The typed results of `podid explain` (the `-o json` documents). Every field is plain data; the text form
 * is rendered from these and nothing else.
 * @packageDocumentation
 */
import type { SelectorNearMiss } from "@podid/core";

/** What a verdict says about one identity (or about the pod, when no identity is involved). */
export type VerdictKind =
  | "assigned"
  | "waiting for MIC"
  | "quarantined"
  | "assignment failing"
  | "not attached"
  | "being removed"
  | "stale"
  | "label typo"
  | "label key typo"
  | "no label"
  | "no binding"
  | "invalid binding"
  | "identity missing"
  | "invalid resourceID"
  | "invalid identity"
  | "namespace mismatch"
  | "name collision"
  | "exception"
  | "not scheduled"
  | "terminated"
  | "node problem"
  /** Type 3: the identity does not list the pod's service account, or lives in another namespace (docs/adr/0021-federated-identities.md). */
  | "service account not trusted"
  /** Type 3: the identity already holds 20 federated credentials and none trusts the pod's service account. */
  | "federated credential limit";

/** One verdict line: `<kind>: <message> → <fix>`. */
export interface Verdict {
  readonly kind: VerdictKind;
  /** `namespace/name` of the identity the verdict is about (absent for pod-wide verdicts). */
  readonly identity?: string;
  readonly message: string;
  /** The exact change to make, when one is needed. */
  readonly fix?: string;
}

/** A Kubernetes Event, reduced to what a human reads. */
export interface EventView {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  /** Newest of lastTimestamp / eventTime / firstTimestamp / creationTimestamp (RFC 3339). */
  readonly last: string;
  readonly object: { readonly kind: string; readonly namespace: string; readonly name: string };
}

/** Where a node's identities live. */
export interface TargetFacts {
  readonly kind: "vm" | "vmss";
  readonly name: string;
  readonly resourceGroup: string;
  readonly subscriptionId: string;
  /** VMSS instance id, for scale-set nodes. */
  readonly instanceId?: string;
}

/** What the cloud said about a VM/VMSS (only with `--cloudconfig`). */
export interface CloudFacts {
  /** Canonical keys of the user-assigned identities attached, when the read succeeded. */
  readonly attached?: readonly string[];
  readonly type?: string;
  readonly error?: string;
}

/** The pod's node. */
export interface NodeFacts {
  readonly name: string;
  readonly exists: boolean;
  readonly providerID: string;
  readonly target?: TargetFacts;
  /** Why the node cannot be turned into a VM/VMSS (missing node, bad providerID). */
  readonly problem?: string;
  /** Absent without `--cloudconfig`. */
  readonly cloud?: CloudFacts;
}

/** A binding that selects the pod, or nearly does. */
export interface BindingFacts {
  readonly namespace: string;
  readonly name: string;
  readonly selector: string;
  readonly azureIdentity: string;
  /** `exact`, or how the selector nearly equals the pod's label. */
  readonly match: "exact" | SelectorNearMiss;
  /** `describeValidationError` text when the binding itself is invalid. */
  readonly problem?: string;
  readonly events: readonly EventView[];
}

/** An AzurePodIdentityException that applies to the pod. */
export interface ExceptionFacts {
  readonly namespace: string;
  readonly name: string;
  /** The exception's labels that the pod carries (values equal ignoring case). */
  readonly matchedLabels: readonly { readonly key: string; readonly value: string }[];
}

/** The AzureAssignedIdentity MIC keeps for one (pod, identity) pair. */
export interface AssignedIdentityFacts {
  readonly namespace: string;
  readonly name: string;
  /** `Created`, `Assigned`, `Unassigned`, or `""` (pre-1.5 MIC, treated as Assigned). */
  readonly status: string;
  readonly createdAt?: string;
  readonly node: string;
  readonly deleting: boolean;
  readonly events: readonly EventView[];
}

/** One identity the pod uses, should use, or nearly uses. */
export interface IdentityFacts {
  readonly namespace: string;
  readonly name: string;
  readonly exists: boolean;
  /** `describeValidationError` text when the identity is invalid. */
  readonly problem?: string;
  readonly type?: number;
  readonly clientID?: string;
  readonly resourceID?: string;
  readonly namespaced: { readonly global: boolean; readonly annotation: boolean };
  /** Bindings (namespace/name) through which the pod reaches it. */
  readonly via: readonly string[];
  readonly assignedIdentity?: AssignedIdentityFacts;
  /** Whether it is attached to the pod's VM/VMSS (only with `--cloudconfig` and a resolvable node). */
  readonly attached?: boolean;
}

/** `podid explain pod` result. */
export interface PodExplanation {
  readonly pod: {
    readonly namespace: string;
    readonly name: string;
    readonly phase: string;
    readonly node: string | null;
    readonly podIP: string | null;
    /** The `aadpodidbinding` value, or null without the label. */
    readonly bindingLabel: string | null;
    /** Label keys that look like a misspelt `aadpodidbinding`. */
    readonly misspeltLabelKeys: readonly string[];
    /** `Kind/name` of the controller owning the pod, when there is one. */
    readonly owner: string | null;
  };
  readonly mode: "standard" | "managed";
  readonly forceNamespaced: boolean;
  readonly node: NodeFacts | null;
  readonly exceptions: readonly ExceptionFacts[];
  readonly bindings: readonly BindingFacts[];
  readonly identities: readonly IdentityFacts[];
  /** What NMI answers a token request that names no identity. */
  readonly nmi: { readonly outcome: string; readonly identity?: string };
  readonly verdicts: readonly Verdict[];
}

/** One pod that uses (or should use) an identity, for `podid explain identity`. */
export interface IdentityPodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly node: string | null;
  readonly target?: TargetFacts;
  readonly binding: string;
  /** `assigned`-style state: the AAI status, or why there is none. */
  readonly state: string;
  readonly assignedIdentity?: { readonly namespace: string; readonly name: string; readonly status: string };
  readonly attached?: boolean;
}

/** A VM or scale set the identity is (or should be) on. */
export interface IdentityTargetFacts extends TargetFacts {
  readonly pods: number;
  readonly cloud?: CloudFacts;
  readonly attached?: boolean;
}

/** `podid explain identity` result. */
export interface IdentityExplanation {
  readonly identity: IdentityFacts;
  readonly bindings: readonly BindingFacts[];
  readonly pods: readonly IdentityPodFacts[];
  readonly targets: readonly IdentityTargetFacts[];
  /** AzureAssignedIdentities naming the identity whose pod no longer should have it. */
  readonly stale: readonly { readonly namespace: string; readonly name: string; readonly status: string; readonly pod: string }[];
  readonly mode: "standard" | "managed";
  readonly forceNamespaced: boolean;
  readonly verdicts: readonly Verdict[];
}
