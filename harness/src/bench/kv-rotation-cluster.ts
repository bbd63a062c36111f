/**
 * The node of the Key Vault rotation bench: pods bound to a few identities (AzureAssignedIdentities Assigned, as
 * MIC leaves them), half mounting their secrets with the FlexVolume `azure/kv` and half with the Secrets Store
 * CSI driver through a SecretProviderClass in pod-identity mode — the two callers of NMI's `/host/token`.
 * Built once as plain values, then written to the fake apiserver (real-process part) or to testkit's in-memory
 * fakes (virtual-clock part).
 * @packageDocumentation
 */
import { request } from "node:http";
import { serialisePod, type AzureAssignedIdentity, type AzureIdentity, type AzureIdentityBinding, type PodView } from "@podid/core";
import { keyVaultFlexVolume, makeAssigned, makeBinding, makeIdentity, makePod, secretsStoreCsiVolume, type FakeSecretProviderClass } from "@podid/testkit";

/** The resource both drivers ask for (the public cloud's Key Vault, no trailing slash). */
export const KEY_VAULT_RESOURCE = "https://vault.azure.net";
export const NAMESPACE = "team-kv";

/** The rotation node's objects. */
export interface RotationNode {
  readonly identities: readonly AzureIdentity[];
  readonly bindings: readonly AzureIdentityBinding[];
  readonly pods: readonly { readonly view: PodView; readonly raw: Record<string, unknown> }[];
  readonly assigned: readonly AzureAssignedIdentity[];
  readonly secretProviderClasses: readonly FakeSecretProviderClass[];
}

/** `pods` pods on `nodeName` over `identities` identities (pod i uses identity i mod identities), one SecretProviderClass per identity. */
export function rotationNode(nodeName: string, pods: number, identities: number): RotationNode {
  const ids = Array.from({ length: identities }, (_, i) => makeIdentity({ name: `kv-reader-${i}`, namespace: NAMESPACE }));
  const bindings = ids.map((identity) => makeBinding(identity, `${identity.metadata.name}-selector`));
  const spcs: FakeSecretProviderClass[] = ids.map((identity) => ({ namespace: NAMESPACE, name: `${identity.metadata.name}-spc`, provider: "azure", usePodIdentity: "true" }));
  const views: { view: PodView; raw: Record<string, unknown> }[] = [];
  const assigned: AzureAssignedIdentity[] = [];
  for (let p = 0; p < pods; p++) {
    const identity = ids[p % identities];
    const binding = bindings[p % identities];
    const spc = spcs[p % identities];
    if (identity === undefined || binding === undefined || spc === undefined) continue;
    const base = makePod({ name: `kv-app-${p}`, namespace: NAMESPACE, ip: `127.3.${Math.floor(p / 250)}.${(p % 250) + 1}`, node: nodeName, selector: binding.spec.selector });
    const flex = p % 2 === 0;
    const volume = flex ? keyVaultFlexVolume() : secretsStoreCsiVolume(spc.name);
    const view: PodView = { ...base, keyVaultVolumes: flex ? [{ kind: "flexVolume", volume: "secrets-store", usePodIdentity: true }] : [{ kind: "csi", volume: "secrets-store", secretProviderClass: spc.name }] };
    const raw = serialisePod(base) as unknown as Record<string, unknown>;
    raw["spec"] = { ...(raw["spec"] as Record<string, unknown>), volumes: [volume] };
    views.push({ view, raw });
    assigned.push(makeAssigned(base, identity, binding));
  }
  return { identities: ids, bindings, pods: views, assigned, secretProviderClasses: spcs };
}

/**
 * One driver call as both drivers make it: `GET /host/token/?resource=<unencoded>` from 127.0.0.1 with `podns` and
 * `podname`, no Metadata header, a new connection each time (each mount is a new process). Resolves with the status.
 */
export function hostTokenCall(port: number, namespace: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: `/host/token/?resource=${KEY_VAULT_RESOURCE}`, headers: { podns: namespace, podname: name }, agent: false, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("timeout", () => req.destroy(new Error("host token request timed out")));
    req.on("error", reject);
    req.end();
  });
}
