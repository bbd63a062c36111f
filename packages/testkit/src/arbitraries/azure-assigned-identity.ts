import fc from "fast-check";
import {
  ASSIGNED_IDENTITY_FINALIZER,
  DEFAULT_ASSIGNED_IDENTITY_NAMESPACE,
  NODENAME_LABEL,
  type AssignedIdentityWireStatus,
  type AzureAssignedIdentity,
} from "@podid/core";
import { azureIdentityArb, type AzureIdentityArbOptions } from "./azure-identity.js";
import { azureIdentityBindingArb } from "./azure-identity-binding.js";
import { k8sNameArb, objectMetaArb, plainRecord } from "./object-meta.js";
import { NAMESPACE_POOL } from "./pools.js";

/** Every wire value of `status.status`, including the pre-1.5 empty string. */
export const ASSIGNED_IDENTITY_WIRE_STATUSES: readonly AssignedIdentityWireStatus[] = ["Created", "Assigned", "Unassigned", ""];

/** Options of {@link azureAssignedIdentityArb}. */
export interface AzureAssignedIdentityArbOptions {
  /** Options for the embedded identity. */
  readonly identity?: AzureIdentityArbOptions;
  /** Statuses to draw from (default all, including `""`). */
  readonly statuses?: readonly AssignedIdentityWireStatus[];
  /** Node names (default a few AKS-like names). */
  readonly nodeNames?: readonly string[];
  /** Pod namespaces (default {@link NAMESPACE_POOL}). */
  readonly podNamespaces?: readonly string[];
}

/**
 * A valid AzureAssignedIdentity as MIC writes it: name `<pod>-<podNamespace>-<identity>`, namespace the
 * identity's (namespaced) or `default`, label `nodename=<node>`, the MIC finalizer, and embedded copies of
 * an identity and of a binding (same namespace) that references it.
 */
export function azureAssignedIdentityArb(
  options: AzureAssignedIdentityArbOptions = {},
): fc.Arbitrary<AzureAssignedIdentity> {
  return plainRecord({
      identity: azureIdentityArb(options.identity ?? {}),
      pod: k8sNameArb,
      podNamespace: fc.constantFrom(...(options.podNamespaces ?? NAMESPACE_POOL)),
      nodeName: fc.constantFrom(
        ...(options.nodeNames ?? ["aks-nodepool1-12345678-vmss000000", "aks-system-87654321-0"]),
      ),
      status: fc.constantFrom(...(options.statuses ?? ASSIGNED_IDENTITY_WIRE_STATUSES)),
      namespaced: fc.boolean(),
      meta: objectMetaArb({ labels: fc.constant({}), annotations: fc.constant({}), finalizers: fc.constant([]) }),
    })
    .chain((a) =>
      azureIdentityBindingArb({ namespaces: [a.identity.metadata.namespace], identityNames: [a.identity.metadata.name] }).map(
        (binding): AzureAssignedIdentity => ({
          kind: "AzureAssignedIdentity",
          metadata: {
            ...a.meta,
            name: `${a.pod}-${a.podNamespace}-${a.identity.metadata.name}`,
            namespace: a.namespaced ? a.identity.metadata.namespace : DEFAULT_ASSIGNED_IDENTITY_NAMESPACE,
            labels: { [NODENAME_LABEL]: a.nodeName },
            finalizers: [ASSIGNED_IDENTITY_FINALIZER],
          },
          spec: {
            azureIdentityRef: a.identity,
            azureBindingRef: binding,
            pod: a.pod,
            podNamespace: a.podNamespace,
            nodeName: a.nodeName,
          },
          status: a.status,
        }),
      ),
    );
}
