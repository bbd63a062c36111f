import { err, ok, type Result } from "../result.js";
import type { PodPhase, PodView } from "../model/types.js";
import type { KubeError } from "../ports/kube-errors.js";
import type { SecretProviderClassView } from "../ports/secret-provider-class-reader.port.js";
import { parseGoBool } from "../compat/go-flag-syntax.js";
import type { FlagValue } from "../compat/flag-values.js";
import type { KeyVaultVolume } from "./key-vault-volumes.js";

/**
 * The scoped `/host/token` (`--host-token=scoped`, the default; docs/adr/0019-scoped-host-token.md): a host
 * process may obtain a pod's token only for a pod that is live on this node and declares a Key Vault volume
 * in pod-identity mode — the two callers that exist (the FlexVolume `azure/kv` and the Secrets Store CSI
 * driver's Azure provider) act for exactly such pods. Pure: SecretProviderClasses are looked up by the
 * caller (nmi-server) and passed in.
 * @packageDocumentation
 */

/** `--host-token`: `scoped` (default), `unscoped` (the original: any pod of this node) or `off` (always 403). */
export type HostTokenMode = "scoped" | "unscoped" | "off";

/** Every mode, in the order the flag's help lists them. */
export const HOST_TOKEN_MODES: readonly HostTokenMode[] = ["scoped", "unscoped", "off"];

/**
 * `--host-token`'s value: a mode, or a Go boolean as earlier podid command lines wrote it (`true` → `unscoped`,
 * the behaviour it switched on; `false` → `off`).
 */
export function parseHostTokenMode(text: string): FlagValue<HostTokenMode> {
  const trimmed = text.trim();
  const mode = HOST_TOKEN_MODES.find((m) => m === trimmed);
  if (mode !== undefined) return ok(mode);
  const legacy = parseGoBool(trimmed);
  if (legacy !== undefined) return ok(legacy ? "unscoped" : "off");
  return err({ kind: "invalidFlagValue", expected: `one of ${HOST_TOKEN_MODES.join(", ")} (or true = unscoped, false = off)` });
}

/** Why the scoped `/host/token` refused a named pod (403). */
export type HostTokenScopeDenial =
  /** No pod of that name is scheduled on this node (NMI's cache holds only this node's pods). */
  | { readonly kind: "podNotOnNode" }
  /** The pod has finished or its state is unknown: no volume is being mounted for it. */
  | { readonly kind: "podNotLive"; readonly phase: PodPhase }
  /** The pod is being deleted. */
  | { readonly kind: "podTerminating" }
  /** Two live pods of that name in the cache (only a stale cache can do that): never guess. */
  | { readonly kind: "podAmbiguous" }
  /** The pod has no `azure/kv` FlexVolume and no Secrets Store CSI volume. */
  | { readonly kind: "noKeyVaultVolume" }
  /** Its only Key Vault volumes are FlexVolumes without `usepodidentity` true (they authenticate otherwise). */
  | { readonly kind: "flexVolumeWithoutPodIdentity"; readonly volume: string }
  /** A CSI volume without `volumeAttributes.secretProviderClass` (the driver refuses it). */
  | { readonly kind: "csiVolumeWithoutClass"; readonly volume: string }
  /** The SecretProviderClass a CSI volume names does not exist in the pod's namespace (or the CRD is absent). */
  | { readonly kind: "secretProviderClassNotFound"; readonly namespace: string; readonly name: string }
  /**
   * The SecretProviderClass names another provider than the Azure provider (`spec.provider: azure`), the only one
   * that fetches a pod's token from `/host/token`: whatever its parameters say, no caller acts for it.
   */
  | { readonly kind: "secretProviderClassNotAzure"; readonly namespace: string; readonly name: string; readonly provider: string }
  /** The SecretProviderClass exists but its `parameters.usePodIdentity` is not true. */
  | { readonly kind: "secretProviderClassWithoutPodIdentity"; readonly namespace: string; readonly name: string };

/** `spec.provider` of the Secrets Store CSI driver's Azure provider (the driver finds it at `<providers dir>/azure.sock`). */
export const AZURE_SECRETS_STORE_PROVIDER = "azure";

/** A SecretProviderClass lookup as the reader port answered it (`ok(undefined)`: not found). */
export type SecretProviderClassLookup = Result<SecretProviderClassView | undefined, KubeError>;

/** The scope verdict for a pod. */
export type HostTokenScopeVerdict =
  /** In scope because of `volume`. */
  | { readonly kind: "inScope"; readonly volume: KeyVaultVolume }
  | { readonly kind: "denied"; readonly reason: HostTokenScopeDenial }
  /** A SecretProviderClass could not be read (API failure, or not looked up): answer 503 so the driver retries. */
  | { readonly kind: "unavailable"; readonly namespace: string; readonly name: string; readonly error?: KubeError };

/**
 * The pod `podns`/`podname` name among this node's cached pods, or the reason it is out of scope. Live means
 * scheduled here, not being deleted, and phase Pending or Running: kubelet mounts volumes before the
 * containers start, so a Pending pod must be served or its Key Vault volume would never mount.
 */
export function findScopedPod(namespace: string, name: string, podsOnNode: readonly PodView[], nodeName: string): Result<PodView, HostTokenScopeDenial> {
  const named = podsOnNode.filter((p) => p.metadata.namespace === namespace && p.metadata.name === name && p.nodeName === nodeName);
  const live = named.filter((p) => p.metadata.deletionTimestamp === undefined && (p.phase === "Pending" || p.phase === "Running"));
  const [pod, ...others] = live;
  if (pod !== undefined) return others.length === 0 ? ok(pod) : err({ kind: "podAmbiguous" });
  const [first] = named;
  if (first === undefined) return err({ kind: "podNotOnNode" });
  if (first.metadata.deletionTimestamp !== undefined) return err({ kind: "podTerminating" });
  return err({ kind: "podNotLive", phase: first.phase });
}

/**
 * The SecretProviderClasses (names in the pod's namespace) whose content decides the scope of `pod`: none
 * when a FlexVolume in pod-identity mode already puts the pod in scope, else those its CSI volumes name.
 */
export function secretProviderClassesToRead(pod: PodView): readonly string[] {
  const volumes = pod.keyVaultVolumes ?? [];
  if (volumes.some((v) => v.kind === "flexVolume" && v.usePodIdentity)) return [];
  const names = volumes.flatMap((v) => (v.kind === "csi" && v.secretProviderClass !== "" ? [v.secretProviderClass] : []));
  return [...new Set(names)];
}

/**
 * Decides whether `pod` (already found live on this node) is in scope: in scope as soon as one Key Vault
 * volume is in pod-identity mode — a FlexVolume with `usepodidentity` true, or a CSI volume whose
 * SecretProviderClass is the Azure provider's (`spec.provider: azure`) and has `parameters.usePodIdentity` true
 * (Go `strconv.ParseBool`). Otherwise denied with the
 * first volume's reason, or `unavailable` when a class that could still grant it could not be read.
 */
export function decideHostTokenScope(pod: PodView, classes: ReadonlyMap<string, SecretProviderClassLookup>): HostTokenScopeVerdict {
  const volumes = pod.keyVaultVolumes ?? [];
  const namespace = pod.metadata.namespace;
  let denial: HostTokenScopeDenial | undefined;
  let unavailable: HostTokenScopeVerdict | undefined;
  for (const volume of volumes) {
    if (volume.kind === "flexVolume") {
      if (volume.usePodIdentity) return { kind: "inScope", volume };
      denial ??= { kind: "flexVolumeWithoutPodIdentity", volume: volume.volume };
      continue;
    }
    const name = volume.secretProviderClass;
    if (name === "") {
      denial ??= { kind: "csiVolumeWithoutClass", volume: volume.volume };
      continue;
    }
    const lookup = classes.get(name);
    if (lookup === undefined || !lookup.ok) {
      unavailable ??= lookup === undefined ? { kind: "unavailable", namespace, name } : { kind: "unavailable", namespace, name, error: lookup.error };
      continue;
    }
    if (lookup.value === undefined) {
      denial ??= { kind: "secretProviderClassNotFound", namespace, name };
      continue;
    }
    if (lookup.value.provider !== AZURE_SECRETS_STORE_PROVIDER) {
      denial ??= { kind: "secretProviderClassNotAzure", namespace, name, provider: lookup.value.provider };
      continue;
    }
    const usePodIdentity = lookup.value.usePodIdentity;
    if (usePodIdentity !== undefined && parseGoBool(usePodIdentity) === true) return { kind: "inScope", volume };
    denial ??= { kind: "secretProviderClassWithoutPodIdentity", namespace, name };
  }
  if (unavailable !== undefined) return unavailable;
  return { kind: "denied", reason: denial ?? { kind: "noKeyVaultVolume" } };
}

/** The 403 description of a denial (the caller is a node agent acting for the pod; it may read this). */
export function hostTokenScopeDescription(pod: { readonly namespace: string; readonly name: string }, reason: HostTokenScopeDenial): string {
  const ref = `${pod.namespace}/${pod.name}`;
  const prefix = "/host/token is scoped to pods of this node that mount a Key Vault volume in pod-identity mode";
  switch (reason.kind) {
    case "podNotOnNode":
      return `${prefix}: pod ${ref} is not scheduled on this node`;
    case "podNotLive":
      return `${prefix}: pod ${ref} is ${reason.phase}`;
    case "podTerminating":
      return `${prefix}: pod ${ref} is being deleted`;
    case "podAmbiguous":
      return `${prefix}: more than one pod ${ref} is cached on this node; refusing to guess`;
    case "noKeyVaultVolume":
      return `${prefix}: pod ${ref} declares no azure/kv FlexVolume and no secrets-store.csi.k8s.io volume`;
    case "flexVolumeWithoutPodIdentity":
      return `${prefix}: the azure/kv volume ${reason.volume} of pod ${ref} does not set usepodidentity to true`;
    case "csiVolumeWithoutClass":
      return `${prefix}: the secrets-store.csi.k8s.io volume ${reason.volume} of pod ${ref} names no secretProviderClass`;
    case "secretProviderClassNotFound":
      return `${prefix}: SecretProviderClass ${reason.namespace}/${reason.name} not found`;
    case "secretProviderClassNotAzure":
      return `${prefix}: SecretProviderClass ${reason.namespace}/${reason.name} is for provider ${reason.provider === "" ? "(none)" : reason.provider}, not the Azure provider (azure)`;
    case "secretProviderClassWithoutPodIdentity":
      return `${prefix}: SecretProviderClass ${reason.namespace}/${reason.name} does not set usePodIdentity to true`;
  }
}
