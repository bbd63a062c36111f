import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { keyVaultFlexVolume, SEED_KEY_VAULT_FLEXVOLUME_OPTIONS, secretProviderClassObject, secretsStoreCsiVolume } from "./key-vault-objects.js";

describe("Key Vault objects", () => {
  it("the seed options are the shipped demo pod's flexVolume options", () => {
    const pod = parse(readFileSync(new URL("../../examples/demo/pod.yaml", import.meta.url), "utf8")) as { spec: { volumes: unknown[] } };
    expect(pod.spec.volumes).toEqual([keyVaultFlexVolume()]);
    expect(keyVaultFlexVolume("kv", { usepodidentity: "false" })).toEqual({ name: "kv", flexVolume: { driver: "azure/kv", options: { ...SEED_KEY_VAULT_FLEXVOLUME_OPTIONS, usepodidentity: "false" } } });
  });

  it("builds a CSI volume and an Azure provider SecretProviderClass", () => {
    expect(secretsStoreCsiVolume("spc")).toEqual({ name: "secrets-store", csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: "spc" } } });
    const spc = secretProviderClassObject({ namespace: "team-a", name: "spc", usePodIdentity: "false" }) as { spec: { provider: string; parameters: Record<string, string> } };
    expect(spc.spec.provider).toBe("azure");
    expect(spc.spec.parameters["usePodIdentity"]).toBe("false");
    expect(spc.spec.parameters["objects"]).toContain("objectName: appsecret1");
  });
});
