/**
 * The demo's last line: one JSON object a script can check (`npm run demo | tail -1 | jq`), and the reading of
 * the pod manifest's Key Vault flexVolume options the demo needs to set the fake vault up.
 * @packageDocumentation
 */
import type { FakeTokenClaims } from "../fakes/fake-jwt.js";

/** The summary line of `podid-sim demo`. */
export interface DemoSummary {
  /** Which story ran (`seed`: the tutorial's pod, identity and binding). */
  readonly scenario: string;
  /** ARM id of the identity the pod got. */
  readonly identity: string;
  /** Claims of the app's token that name the identity (`appid` its client id, `xms_mirid` its ARM id) and audience. */
  readonly tokenClaims: { readonly appid: string; readonly xms_mirid: string; readonly aud: string };
  /** VM/VMSS PATCH requests fake ARM received until the token step. */
  readonly armPatches: number;
  /** From applying the pod to the first token NMI issued for it (the driver's, through /host/token), ms. */
  readonly firstTokenMs: number | null;
  /** The file the pod reads and what it holds. */
  readonly secretFile: string;
  readonly secretValue: string;
  /** Whether that is what the Key Vault holds. */
  readonly secretMatchesKeyVault: boolean;
  /** Mount attempts the kubelet made (the first fail while the identity is being assigned). */
  readonly mountAttempts: number;
}

/** Builds the summary from what the demo observed. */
export function demoSummary(observed: {
  readonly identity: string;
  readonly claims: FakeTokenClaims;
  readonly armPatches: number;
  readonly firstTokenMs: number | undefined;
  readonly secretFile: string;
  readonly secretValue: string;
  readonly keyVaultValue: string;
  readonly mountAttempts: number;
}): DemoSummary {
  return {
    scenario: "seed",
    identity: observed.identity,
    tokenClaims: { appid: observed.claims.appid, xms_mirid: observed.claims.xms_mirid ?? "", aud: observed.claims.aud },
    armPatches: observed.armPatches,
    firstTokenMs: observed.firstTokenMs ?? null,
    secretFile: observed.secretFile,
    secretValue: observed.secretValue,
    secretMatchesKeyVault: observed.secretValue === observed.keyVaultValue,
    mountAttempts: observed.mountAttempts,
  };
}

/** The Key Vault options of a pod manifest's first `azure/kv` flexVolume. */
export interface PodKeyVaultOptions {
  readonly vaultName: string;
  /** The first object name (`keyvaultobjectnames`, `;`-separated, or the legacy singular key). */
  readonly objectName: string;
  readonly tenantId: string;
}

/** Reads the first `azure/kv` flexVolume of `pod`; throws naming what is missing. */
export function flexVolumeOptionsOf(pod: Record<string, unknown>): PodKeyVaultOptions {
  const spec = (pod["spec"] ?? {}) as { volumes?: { flexVolume?: { driver?: string; options?: Record<string, string> } }[] };
  const flex = (spec.volumes ?? []).map((v) => v.flexVolume).find((f) => f?.driver === "azure/kv");
  if (flex === undefined) throw new Error("the demo pod declares no flexVolume of driver azure/kv");
  const options = flex.options ?? {};
  const vaultName = options["keyvaultname"] ?? "";
  const objectName = (options["keyvaultobjectnames"] ?? options["keyvaultobjectname"] ?? "").split(";")[0] ?? "";
  if (vaultName === "" || objectName === "") throw new Error("the demo pod's azure/kv flexVolume names no keyvaultname or keyvaultobjectnames");
  return { vaultName, objectName, tenantId: options["tenantid"] ?? "" };
}
