/**
 * Which iptables backend a node uses (legacy `ip_tables` or `nf_tables`): rules installed with the other
 * backend would live in tables the node's own agents never look at, and mixing both on one node makes the
 * outcome depend on hook order. podid follows the node, the way kube-proxy images' iptables wrapper does
 * (docs/adr/0014-dnat-target-and-iptables-backend.md): look at what each backend holds and pick the busier
 * one. Pure: the adapter runs the `*-save` tools and passes their output in.
 * @packageDocumentation
 */

/** An iptables backend, named as the binaries' suffix (`iptables-nft`, `iptables-legacy`). */
export type IptablesBackend = "nft" | "legacy";

/** `--iptables-backend`: a fixed backend, or `auto` (decided once at start from the node's rules). */
export type IptablesBackendSetting = IptablesBackend | "auto";

/** What one backend's `iptables-save` and `ip6tables-save` output shows. */
export interface BackendRuleSummary {
  /** Rule lines (`-A …`) other than podid's own. */
  readonly rules: number;
  /**
   * True when a kubelet marker chain (`KUBE-IPTABLES-HINT`, `KUBE-KUBELET-CANARY`) exists: kubelet creates
   * it in the backend it uses, even on nodes whose service proxy writes no iptables rules.
   */
  readonly kubeletHint: boolean;
}

/** Why {@link chooseIptablesBackend} picked a backend (logged at start). */
export type BackendChoiceReason = "kubeletHint" | "moreRules" | "tieDefaultsToNft";

/** The chosen backend and why. */
export interface BackendChoice {
  readonly backend: IptablesBackend;
  readonly reason: BackendChoiceReason;
}

/** Chains kubelet creates in the backend it uses (mangle table), whatever the service proxy does. */
const KUBELET_HINT_CHAINS: ReadonlySet<string> = new Set(["KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"]);

/**
 * Summarises `iptables-save` text (any number of tables, ip and ip6 concatenated): counts `-A` lines,
 * leaving out rules of the chains in `ownChains` and jumps to them (podid's own rules must not decide:
 * a previous NMI's choice would then perpetuate itself), and notes kubelet's marker chains. Lines the
 * tools add as comments (`# Warning: iptables-legacy tables present`) are ignored.
 */
export function summariseIptablesSave(text: string, ownChains: readonly string[]): BackendRuleSummary {
  const own = new Set(ownChains);
  let rules = 0;
  let kubeletHint = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0] ?? "";
      if (KUBELET_HINT_CHAINS.has(name)) kubeletHint = true;
      continue;
    }
    if (!line.startsWith("-A ")) continue;
    const tokens = line.split(/\s+/);
    const chain = tokens[1] ?? "";
    const jumpAt = tokens.findIndex((t) => t === "-j" || t === "-g");
    const target = jumpAt >= 0 ? (tokens[jumpAt + 1] ?? "") : "";
    if (own.has(chain) || own.has(target)) continue;
    rules += 1;
  }
  return { rules, kubeletHint };
}

/**
 * The backend to use, given what each one holds: the one with kubelet's marker chain when exactly one has
 * it; otherwise the one with more rules; `nft` when they tie (including a node with no rules at all, where
 * nf_tables is what current distributions and kube-proxy default to).
 */
export function chooseIptablesBackend(summaries: { readonly nft: BackendRuleSummary; readonly legacy: BackendRuleSummary }): BackendChoice {
  const { nft, legacy } = summaries;
  if (nft.kubeletHint !== legacy.kubeletHint) return { backend: nft.kubeletHint ? "nft" : "legacy", reason: "kubeletHint" };
  if (legacy.rules > nft.rules) return { backend: "legacy", reason: "moreRules" };
  if (nft.rules > legacy.rules) return { backend: "nft", reason: "moreRules" };
  return { backend: "nft", reason: "tieDefaultsToNft" };
}
