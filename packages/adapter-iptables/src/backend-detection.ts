import { chooseIptablesBackend, summariseIptablesSave, type BackendChoice, type BackendRuleSummary, type IptablesBackend } from "@podid/core";
import type { CommandRunner } from "./command-runner.js";

/**
 * Detects the iptables backend the node's agents use by running both backends' `*-save` tools (ip and ip6)
 * and handing their output to core's `chooseIptablesBackend` (docs/adr/0014-dnat-target-and-iptables-backend.md).
 * @packageDocumentation
 */

/** What was detected: the choice and the evidence it was made from (logged once at start). */
export interface BackendDetection extends BackendChoice {
  readonly nft: BackendRuleSummary;
  readonly legacy: BackendRuleSummary;
  /** `*-save` tools that were missing or failed (counted as empty), e.g. an image without the legacy tools. */
  readonly unreadable: readonly string[];
}

/** The binaries of one backend as Debian and the kube-proxy images name them. */
export function backendBinaries(backend: IptablesBackend): { readonly iptables: string; readonly iptablesSave: string; readonly iptablesRestore: string } {
  return { iptables: `iptables-${backend}`, iptablesSave: `iptables-${backend}-save`, iptablesRestore: `iptables-${backend}-restore` };
}

/**
 * Reads `iptables-<b>-save` and `ip6tables-<b>-save` for both backends (each bounded by `timeoutMs`: the
 * nf_tables tools can hang on old kernels) and chooses. A tool that is missing or fails counts as an empty
 * backend; podid's own chains (`ownChains`) never count.
 */
export async function detectIptablesBackend(runner: CommandRunner, ownChains: readonly string[], timeoutMs: number): Promise<BackendDetection> {
  const unreadable: string[] = [];
  const summarise = async (backend: IptablesBackend): Promise<BackendRuleSummary> => {
    let text = "";
    for (const family of ["iptables", "ip6tables"]) {
      const tool = `${family}-${backend}-save`;
      const outcome = await runner.run([tool], { timeoutMs });
      if (outcome.kind === "exited" && outcome.exitCode === 0) text += `${outcome.stdout}\n`;
      else unreadable.push(tool);
    }
    return summariseIptablesSave(text, ownChains);
  };
  const nft = await summarise("nft");
  const legacy = await summarise("legacy");
  return { ...chooseIptablesBackend({ nft, legacy }), nft, legacy, unreadable };
}
