import { parseGoBool } from "../compat/go-flag-syntax.js";

/**
 * The Key Vault volumes a pod declares, summarised from its raw `spec.volumes` when the pod is decoded, so
 * NMI can scope `/host/token` without keeping pod specs in memory (docs/adr/0019-scoped-host-token.md).
 * Only the two drivers that fetch a pod's token from `/host/token` count: the FlexVolume `azure/kv` and the
 * Secrets Store CSI driver (whose Azure provider decides pod-identity mode from the SecretProviderClass).
 * @packageDocumentation
 */

/** The FlexVolume driver name of the original Key Vault FlexVolume. */
export const KEY_VAULT_FLEXVOLUME_DRIVER = "azure/kv";
/** The Secrets Store CSI driver's name. */
export const SECRETS_STORE_CSI_DRIVER = "secrets-store.csi.k8s.io";
/** The volume attribute of a Secrets Store CSI volume naming its SecretProviderClass. */
export const SECRET_PROVIDER_CLASS_ATTRIBUTE = "secretProviderClass";
/** The FlexVolume option that turns on pod-identity mode. */
export const FLEXVOLUME_POD_IDENTITY_OPTION = "usepodidentity";

/** One Key Vault volume of a pod. */
export type KeyVaultVolume =
  /** `flexVolume.driver: azure/kv`; `usePodIdentity` is option `usepodidentity` read as Go's `strconv.ParseBool`. */
  | { readonly kind: "flexVolume"; readonly volume: string; readonly usePodIdentity: boolean }
  /**
   * `csi.driver: secrets-store.csi.k8s.io`; `secretProviderClass` is `volumeAttributes.secretProviderClass`
   * (`""` when absent: the driver refuses such a volume, so it never calls `/host/token` for it).
   */
  | { readonly kind: "csi"; readonly volume: string; readonly secretProviderClass: string };

/** Go's `strconv.ParseBool` (both drivers use it) of an option value; non-strings and other spellings are not true. */
function isGoTrue(value: unknown): boolean {
  return typeof value === "string" && parseGoBool(value) === true;
}

function asObject(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Readonly<Record<string, unknown>>) : undefined;
}

function stringField(obj: Readonly<Record<string, unknown>> | undefined, key: string): string {
  const value = obj?.[key];
  return typeof value === "string" ? value : "";
}

/** The Key Vault volume `raw` (one entry of `spec.volumes`) is, if any. */
function keyVaultVolume(raw: unknown): KeyVaultVolume | undefined {
  const volume = asObject(raw);
  if (volume === undefined) return undefined;
  const name = stringField(volume, "name");
  const flex = asObject(volume["flexVolume"]);
  if (flex !== undefined && stringField(flex, "driver") === KEY_VAULT_FLEXVOLUME_DRIVER) {
    const options = asObject(flex["options"]);
    return { kind: "flexVolume", volume: name, usePodIdentity: isGoTrue(options?.[FLEXVOLUME_POD_IDENTITY_OPTION]) };
  }
  const csi = asObject(volume["csi"]);
  if (csi !== undefined && stringField(csi, "driver") === SECRETS_STORE_CSI_DRIVER) {
    return { kind: "csi", volume: name, secretProviderClass: stringField(asObject(csi["volumeAttributes"]), SECRET_PROVIDER_CLASS_ATTRIBUTE) };
  }
  return undefined;
}

/**
 * The Key Vault volumes among a pod's raw `spec.volumes`, in declaration order; `undefined` when there are
 * none (most pods), so a pod without one costs no memory. Never throws: malformed entries are skipped, since
 * the API server validated the pod and a volume this function cannot read cannot grant anything.
 */
export function summariseKeyVaultVolumes(volumes: unknown): readonly KeyVaultVolume[] | undefined {
  if (!Array.isArray(volumes)) return undefined;
  const found: KeyVaultVolume[] = [];
  for (const raw of volumes) {
    const volume = keyVaultVolume(raw);
    if (volume !== undefined) found.push(volume);
  }
  return found.length === 0 ? undefined : found;
}

/** {@link summariseKeyVaultVolumes} of a raw Pod object's `spec.volumes`. */
export function keyVaultVolumesOfRawPod(rawPod: unknown): readonly KeyVaultVolume[] | undefined {
  return summariseKeyVaultVolumes(asObject(asObject(rawPod)?.["spec"])?.["volumes"]);
}
