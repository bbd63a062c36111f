/**
 * The Key Vault volume shapes tests keep writing: the tutorial pod's `azure/kv` flexVolume options (the same as
 * this package's `examples/demo/pod.yaml`, which a test keeps equal), a Secrets Store CSI volume, the Secrets
 * Store CSI driver's SecretProviderClass CRD (reduced to what registers the resource with the fake apiserver) and
 * a SecretProviderClass of the Azure provider. Raw API JSON, as a client would send it.
 * @packageDocumentation
 */

/** The tutorial pod's `azure/kv` flexVolume options (examples/demo/pod.yaml). */
export const SEED_KEY_VAULT_FLEXVOLUME_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  usepodidentity: "true",
  keyvaultname: "demo-kv",
  keyvaultobjectnames: "appsecret1",
  keyvaultobjecttypes: "secret",
  resourcegroup: "rg-keyvault",
  subscriptionid: "00000000-0000-4000-8000-00000000d3e0",
  tenantid: "72f988bf-0000-4000-8000-00000000d3e0",
});

/** A pod volume of the FlexVolume driver `azure/kv`: the tutorial's options, with `options` laid over them. */
export function keyVaultFlexVolume(name = "secrets-store", options: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  return { name, flexVolume: { driver: "azure/kv", options: { ...SEED_KEY_VAULT_FLEXVOLUME_OPTIONS, ...options } } };
}

/** A pod volume of the Secrets Store CSI driver naming `secretProviderClass`. */
export function secretsStoreCsiVolume(secretProviderClass: string, name = "secrets-store"): Record<string, unknown> {
  return { name, csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass } } };
}

/** The Secrets Store CSI driver's SecretProviderClass CRD, enough for the fake apiserver to serve the resource. */
export const SECRET_PROVIDER_CLASS_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: secretproviderclasses.secrets-store.csi.x-k8s.io
spec:
  group: secrets-store.csi.x-k8s.io
  scope: Namespaced
  names: { kind: SecretProviderClass, listKind: SecretProviderClassList, plural: secretproviderclasses, singular: secretproviderclass }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;

/** Options of {@link secretProviderClassObject}. */
export interface SecretProviderClassOptions {
  readonly namespace: string;
  readonly name: string;
  /** `spec.provider` (default `azure`). */
  readonly provider?: string;
  /** `spec.parameters.usePodIdentity` (default `"true"`; `undefined`-free: pass `""` for an empty value). */
  readonly usePodIdentity?: string;
  /** Vault and object the class mounts (defaults: the tutorial's `demo-kv` / `appsecret1`). */
  readonly keyvaultName?: string;
  readonly objectName?: string;
}

/** A SecretProviderClass (`secrets-store.csi.x-k8s.io/v1`) as the Azure provider's docs write one. */
export function secretProviderClassObject(options: SecretProviderClassOptions): Record<string, unknown> {
  return {
    apiVersion: "secrets-store.csi.x-k8s.io/v1",
    kind: "SecretProviderClass",
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      provider: options.provider ?? "azure",
      parameters: {
        usePodIdentity: options.usePodIdentity ?? "true",
        keyvaultName: options.keyvaultName ?? SEED_KEY_VAULT_FLEXVOLUME_OPTIONS["keyvaultname"],
        tenantID: SEED_KEY_VAULT_FLEXVOLUME_OPTIONS["tenantid"],
        objects: `array:\n  - |\n    objectName: ${options.objectName ?? "appsecret1"}\n    objectType: secret\n`,
      },
    },
  };
}
