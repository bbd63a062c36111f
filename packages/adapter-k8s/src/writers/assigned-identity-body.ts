import {
  ASSIGNED_IDENTITY_FINALIZER,
  serialiseAzureAssignedIdentity,
  type AzureAssignedIdentity,
  type WireAzureAssignedIdentity,
} from "@podid/core";

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The POST body of a new AzureAssignedIdentity: core's wire format of the original MIC (embedded
 * identity and binding, `nodename` label, `status: {status, availableReplicas: 1}`), with MIC's
 * finalizer added (since 1.6.1, PR #593: namespace deletion waits until the identity is off the node)
 * and the server-managed metadata (uid, resourceVersion, timestamps, generation) left out.
 */
export function createBody(identity: AzureAssignedIdentity): WireAzureAssignedIdentity {
  const wire = serialiseAzureAssignedIdentity(identity);
  const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, deletionTimestamp: _dt, generation: _g, ...metadata } = wire.metadata;
  const finalizers = metadata.finalizers ?? [];
  return {
    ...wire,
    metadata: {
      ...metadata,
      finalizers: finalizers.includes(ASSIGNED_IDENTITY_FINALIZER) ? [...finalizers] : [...finalizers, ASSIGNED_IDENTITY_FINALIZER],
    },
  };
}

/**
 * The PUT body of an optimistic first update: the caller's object as it read it (its resourceVersion
 * guards against anything that changed since, status included), finalizer kept.
 */
export function replaceBody(identity: AzureAssignedIdentity): WireAzureAssignedIdentity {
  const wire = serialiseAzureAssignedIdentity(identity);
  const finalizers = wire.metadata.finalizers ?? [];
  return {
    ...wire,
    metadata: {
      ...wire.metadata,
      finalizers: finalizers.includes(ASSIGNED_IDENTITY_FINALIZER) ? [...finalizers] : [...finalizers, ASSIGNED_IDENTITY_FINALIZER],
    },
  };
}

/**
 * The PUT body that re-applies an update to freshly read state after a conflict: `spec` and the
 * intended labels (the `nodename` label follows the pod, PR #1161) from `intended`; everything else —
 * status, resourceVersion, finalizers, other labels, annotations, unknown fields — from `stored`, so
 * the write changes exactly what `update` promises and nothing someone else wrote meanwhile.
 */
export function reapplyUpdate(intended: AzureAssignedIdentity, stored: JsonObject): JsonObject {
  const wire = serialiseAzureAssignedIdentity(intended);
  const metadata = isObject(stored["metadata"]) ? stored["metadata"] : {};
  const labels = isObject(metadata["labels"]) ? metadata["labels"] : {};
  return {
    ...stored,
    metadata: { ...metadata, labels: { ...labels, ...intended.metadata.labels } },
    spec: wire.spec,
  };
}

/** `stored` without MIC's finalizer, or `undefined` when it does not carry it (nothing to remove). */
export function withoutFinalizer(stored: JsonObject): JsonObject | undefined {
  const metadata = isObject(stored["metadata"]) ? stored["metadata"] : undefined;
  const finalizers = Array.isArray(metadata?.["finalizers"]) ? (metadata["finalizers"] as unknown[]) : [];
  if (metadata === undefined || !finalizers.includes(ASSIGNED_IDENTITY_FINALIZER)) return undefined;
  return { ...stored, metadata: { ...metadata, finalizers: finalizers.filter((f) => f !== ASSIGNED_IDENTITY_FINALIZER) } };
}

/**
 * True when `stored` is the same assignment as `intended` (same pod, node, identity and binding):
 * a create that meets it finds its own earlier write (whose answer was lost) and may succeed with it.
 */
export function sameAssignment(stored: AzureAssignedIdentity, intended: AzureAssignedIdentity): boolean {
  const a = stored.spec;
  const b = intended.spec;
  return (
    a.pod === b.pod &&
    a.podNamespace === b.podNamespace &&
    a.nodeName === b.nodeName &&
    a.azureIdentityRef.metadata.namespace === b.azureIdentityRef.metadata.namespace &&
    a.azureIdentityRef.metadata.name === b.azureIdentityRef.metadata.name &&
    a.azureBindingRef.metadata.namespace === b.azureBindingRef.metadata.namespace &&
    a.azureBindingRef.metadata.name === b.azureBindingRef.metadata.name
  );
}
