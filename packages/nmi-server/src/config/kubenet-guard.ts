import { readFile } from "node:fs/promises";
import { err, ok, type Result } from "@podid/core";

/**
 * The kubenet refusal (CVE-2021-1677): on kubenet a pod with `CAP_NET_RAW` can ARP-spoof another
 * pod's IP, and NMI attributes callers by source IP, so NMI refuses to start there unless told otherwise.
 * @packageDocumentation
 */

/** Why NMI refuses to start. */
export interface KubenetGuardError {
  readonly kind: "kubenetRefused" | "kubeletConfigUnreadable";
  readonly message: string;
}

/**
 * True when the kubelet configuration text selects kubenet. The original looked for the exact substring
 * `--network-plugin=kubenet`; this also catches the space-separated and quoted spellings
 * (`--network-plugin kubenet`, `--network-plugin="kubenet"`), so a formatting change cannot slip past.
 */
export function selectsKubenet(kubeletConfig: string): boolean {
  return /--network-plugin(?:=|\s+)["']?kubenet(?![\w-])/.test(kubeletConfig);
}

/** The refusal text of the original, so operators' searches still find it. */
export const KUBENET_REFUSAL =
  "AAD Pod Identity is not supported for Kubenet. Review https://azure.github.io/aad-pod-identity/docs/configure/aad_pod_identity_on_kubenet/ for more details.";

/** Pure part of the guard: allowed, or refused because the configuration selects kubenet. */
export function checkKubenet(kubeletConfig: string, allowKubenet: boolean): Result<void, KubenetGuardError> {
  if (allowKubenet || !selectsKubenet(kubeletConfig)) return ok(undefined);
  return err({ kind: "kubenetRefused", message: `${KUBENET_REFUSAL} (found --network-plugin=kubenet; pass --allow-network-plugin-kubenet to override)` });
}

/**
 * Reads the kubelet configuration file and applies {@link checkKubenet}. Skipped entirely when kubenet is
 * allowed. An unreadable file is an error, as in the original (which could not tell whether it was safe);
 * the DaemonSet mounts the file with `FileOrCreate`, so it exists (possibly empty) on non-AKS nodes.
 */
export async function guardKubenet(kubeletConfigPath: string, allowKubenet: boolean): Promise<Result<void, KubenetGuardError>> {
  if (allowKubenet) return ok(undefined);
  let text: string;
  try {
    text = await readFile(kubeletConfigPath, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return err({
      kind: "kubeletConfigUnreadable",
      message: `cannot read kubelet config ${kubeletConfigPath} to check for kubenet: ${reason} (pass --allow-network-plugin-kubenet to skip the check)`,
    });
  }
  return checkKubenet(text, false);
}
