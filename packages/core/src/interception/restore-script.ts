/**
 * `iptables-restore --noflush` scripts that install, repair or remove podid's chains. Each table is one
 * transaction (one `COMMIT`), so a chain's contents are replaced and a jump is moved without any moment
 * in which a packet sees half the change. Only podid's own chains and podid's own jump rules are touched;
 * `--noflush` keeps every other chain (kube-proxy, CNI) exactly as it is.
 * @packageDocumentation
 */
import type { InterceptionSpec } from "../ports/netfilter.port.js";
import { desiredInterception, jumpRule, type OwnedChain } from "./desired-rules.js";
import { diagnoseOwnedChain, jumpIntact } from "./interception-drift.js";
import { ruleSpecText, ruleTarget, ruleText } from "./iptables-rule.js";
import { EMPTY_RULESET, findChain, type IptablesRuleset } from "./iptables-ruleset.js";

/** A script to feed to `iptables-restore --noflush`, and whether it changes anything at all. */
export interface RestorePlan {
  /** False when the rules are already as wanted; `script` is then empty. */
  readonly changes: boolean;
  /** The tables the script touches, in the order it commits them. */
  readonly tables: readonly string[];
  readonly script: string;
}

function assemble(sections: ReadonlyArray<{ table: string; lines: readonly string[] }>): RestorePlan {
  const touched = sections.filter((s) => s.lines.length > 0);
  // Consecutive sections for the same table merge into one transaction.
  const merged: Array<{ table: string; lines: string[] }> = [];
  for (const section of touched) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.table === section.table) last.lines.push(...section.lines);
    else merged.push({ table: section.table, lines: [...section.lines] });
  }
  const script = merged.map((s) => [`*${s.table}`, ...s.lines, "COMMIT"].join("\n")).join("\n");
  return { changes: merged.length > 0, tables: merged.map((s) => s.table), script: script === "" ? "" : `${script}\n` };
}

function repairLines(owned: OwnedChain, current: IptablesRuleset): readonly string[] {
  const diagnosis = diagnoseOwnedChain(owned, current);
  const lines: string[] = [];
  if (!diagnosis.contentsIntact) {
    // With --noflush a chain declaration creates the chain, or empties it when it exists.
    lines.push(`:${owned.chain} - [0:0]`);
    for (const rule of owned.rules) lines.push(ruleText(rule));
  }
  for (const placement of diagnosis.jumps) {
    if (jumpIntact(placement)) continue;
    const jump = jumpRule(placement.from, owned.chain);
    // Delete every copy (duplicates would make a later removal leave one behind), then insert at 1.
    for (let i = 0; i < placement.positions.length; i += 1) lines.push(`-D ${placement.from} ${ruleSpecText(jump)}`);
    lines.push(`-I ${placement.from} 1 ${ruleSpecText(jump)}`);
  }
  return lines;
}

/**
 * The smallest script that turns `current` into the desired state for `spec`: owned chains whose contents
 * differ are re-declared (emptied) and refilled, misplaced or repeated jumps are deleted and re-inserted
 * at position 1. The filter guard is committed before the nat DNAT, so a failure in between leaves pods
 * blocked rather than open. `changes` is false when nothing needs doing.
 */
export function planInterceptionRepair(spec: InterceptionSpec, current: IptablesRuleset): RestorePlan {
  return assemble(desiredInterception(spec).map((owned) => ({ table: owned.table, lines: repairLines(owned, current) })));
}

/**
 * The smallest script that installs or repairs only the filter-table guard chain for `spec` (and its jumps
 * from INPUT and FORWARD), leaving the nat table untouched: what NMI installs first at start-up, before
 * anything that can fail, so a misconfigured NMI that exits leaves pods blocked rather than open.
 */
export function planGuardRepair(spec: InterceptionSpec, current: IptablesRuleset): RestorePlan {
  return assemble(
    desiredInterception(spec)
      .filter((owned) => owned.table === "filter")
      .map((owned) => ({ table: owned.table, lines: repairLines(owned, current) })),
  );
}

/**
 * The script that installs everything from scratch (what {@link planInterceptionRepair} gives for no rules).
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export function renderInterceptionInstallScript(spec: InterceptionSpec): string {
  return planInterceptionRepair(spec, EMPTY_RULESET).script;
}

function removalLines(owned: OwnedChain, current: IptablesRuleset): readonly string[] {
  const table = current.tables.get(owned.table);
  if (table === undefined) return [];
  const lines: string[] = [];
  // Every rule that targets the chain must go first, or -X fails with "chain in use".
  for (const chain of table.chains.values()) {
    if (chain.name === owned.chain) continue;
    for (const rule of chain.rules) if (ruleTarget(rule) === owned.chain) lines.push(`-D ${chain.name} ${ruleSpecText(rule)}`);
  }
  if (findChain(current, owned.table, owned.chain) !== undefined) lines.push(`-F ${owned.chain}`, `-X ${owned.chain}`);
  return lines;
}

/**
 * The script that deletes podid's chains and every rule jumping to them: the original's fail-open
 * shutdown (`handleTermination`), offered only for operators who ask for it. The nat DNAT goes first and
 * the guard last, so until the final commit pods stay blocked. `changes` is false when nothing is left.
 */
export function planInterceptionRemoval(spec: InterceptionSpec, current: IptablesRuleset): RestorePlan {
  const owned = [...desiredInterception(spec)].reverse();
  return assemble(owned.map((o) => ({ table: o.table, lines: removalLines(o, current) })));
}
