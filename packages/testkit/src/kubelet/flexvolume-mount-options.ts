/**
 * The JSON options kubelet hands a FlexVolume driver's `mount` call: the volume's own `options`, plus
 * kubelet's `kubernetes.io/…` keys describing the pod and the volume (pod name, namespace, uid, service
 * account, fsType, read-write mode, fsGroup, and each key of the `secretRef` Secret base64-encoded as
 * `kubernetes.io/secret/<key>`). docs/key-vault.md lists them.
 * @packageDocumentation
 */
import type { V1FlexVolumeSource, V1Pod } from "@kubernetes/client-node";

/** Builds the options object for one flexVolume of `pod`; `secretData` is the referenced Secret's `data` (already base64). */
export function flexVolumeMountOptions(
  pod: V1Pod,
  source: V1FlexVolumeSource,
  secretData: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const options: Record<string, string> = { ...(source.options ?? {}) };
  options["kubernetes.io/pod.name"] = pod.metadata?.name ?? "";
  options["kubernetes.io/pod.namespace"] = pod.metadata?.namespace ?? "default";
  options["kubernetes.io/pod.uid"] = pod.metadata?.uid ?? "";
  options["kubernetes.io/serviceAccount.name"] = pod.spec?.serviceAccountName ?? "default";
  options["kubernetes.io/fsType"] = source.fsType ?? "";
  options["kubernetes.io/readwrite"] = source.readOnly === true ? "ro" : "rw";
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  if (fsGroup !== undefined) options["kubernetes.io/fsGroup"] = String(fsGroup);
  for (const [key, value] of Object.entries(secretData)) options[`kubernetes.io/secret/${key}`] = value;
  return options;
}

/** kubelet's directory name for a plugin: `vendor/driver` → `vendor~driver` (EscapeQualifiedName). */
export function escapeQualifiedName(name: string): string {
  return name.replaceAll("/", "~");
}
