/**
 * The Azure clouds `podid-kv` knows by the original driver's `cloudname` option (go-autorest environment names,
 * matched case-insensitively as go-autorest did). Only what Key Vault access needs: the token resource NMI is
 * asked for and the DNS suffix vault host names end with. packages/kv-flexvolume/README.md lists them.
 */
export interface KeyVaultCloud {
  /** The environment name as go-autorest spells it. */
  readonly name: string;
  /** Key Vault's token resource, without the trailing slash (NMI is asked for exactly this). */
  readonly keyVaultResource: string;
  /** Vault hosts are `<vault name>.<suffix>`. */
  readonly keyVaultDnsSuffix: string;
}

/** The public cloud, used when `cloudname` is absent or empty. */
export const AZURE_PUBLIC_CLOUD: KeyVaultCloud = { name: "AzurePublicCloud", keyVaultResource: "https://vault.azure.net", keyVaultDnsSuffix: "vault.azure.net" };

/** Every cloud `cloudname` may name. */
export const KEY_VAULT_CLOUDS: readonly KeyVaultCloud[] = [
  AZURE_PUBLIC_CLOUD,
  { name: "AzureChinaCloud", keyVaultResource: "https://vault.azure.cn", keyVaultDnsSuffix: "vault.azure.cn" },
  { name: "AzureUSGovernmentCloud", keyVaultResource: "https://vault.usgovcloudapi.net", keyVaultDnsSuffix: "vault.usgovcloudapi.net" },
];

/** The cloud a `cloudname` option names; empty means the public cloud; `undefined` for an unknown name. */
export function cloudByName(name: string): KeyVaultCloud | undefined {
  const wanted = name.trim().toUpperCase();
  if (wanted === "") return AZURE_PUBLIC_CLOUD;
  return KEY_VAULT_CLOUDS.find((cloud) => cloud.name.toUpperCase() === wanted);
}

/** `https://<vault>.<suffix>` — the URL the Key Vault clients are given. */
export function vaultUrl(vaultName: string, cloud: KeyVaultCloud): string {
  return `https://${vaultName}.${cloud.keyVaultDnsSuffix}`;
}
