/**
 * Drift between the rules podid owns and what a dump shows: per owned chain whether it exists, whether
 * its contents are exactly the expected rules in order, and where the built-in chains jump to it.
 * @packageDocumentation
 */
import type { InterceptionSpec, InterceptionState } from "../ports/netfilter.port.js";
import { desiredInterception, jumpRule, type OwnedChain } from "./desired-rules.js";
import { ruleText, sameRule } from "./iptables-rule.js";
import { findChain, type IptablesRuleset } from "./iptables-ruleset.js";

/** Where one built-in chain jumps to an owned chain. */
export interface JumpPlacement {
  readonly from: string;
  /** 0-based positions of the exact `-j <chain>` rules in `from` (empty when there is none). */
  readonly positions: readonly number[];
}

/** The state of one {@link OwnedChain} in a dump. */
export interface OwnedChainDiagnosis {
  readonly owned: OwnedChain;
  readonly exists: boolean;
  /** True when the chain holds exactly the expected rules, in order. */
  readonly contentsIntact: boolean;
  readonly jumps: readonly JumpPlacement[];
  /** Human-readable differences (empty when intact). */
  readonly drift: readonly string[];
}

/** True when `placement` is a single jump at position 1. */
export function jumpIntact(placement: JumpPlacement): boolean {
  return placement.positions.length === 1 && placement.positions[0] === 0;
}

/** Compares one owned chain with the dump. */
export function diagnoseOwnedChain(owned: OwnedChain, ruleset: IptablesRuleset): OwnedChainDiagnosis {
  const label = `${owned.table} chain ${owned.chain}`;
  const drift: string[] = [];
  const chain = findChain(ruleset, owned.table, owned.chain);
  const actual = chain?.rules ?? [];
  let contentsIntact = chain !== undefined;
  if (chain === undefined) {
    drift.push(`${label} does not exist`);
  } else {
    for (const rule of owned.rules) {
      if (!actual.some((r) => sameRule(r, rule))) drift.push(`${label} is missing rule: ${ruleText(rule)}`);
    }
    for (const rule of actual) {
      if (!owned.rules.some((r) => sameRule(r, rule))) drift.push(`${label} has unexpected rule: ${ruleText(rule)}`);
    }
    const exact = actual.length === owned.rules.length && actual.every((rule, i) => {
      const expected = owned.rules[i];
      return expected !== undefined && sameRule(rule, expected);
    });
    if (!exact && drift.length === 0) {
      drift.push(`${label} rules are out of order or repeated: ${actual.map(ruleText).join(" | ")}`);
    }
    contentsIntact = exact;
  }
  const jumps = owned.jumpFrom.map((from): JumpPlacement => {
    const jump = jumpRule(from, owned.chain);
    const rules = findChain(ruleset, owned.table, from)?.rules ?? [];
    const positions = rules.flatMap((rule, i) => (sameRule(rule, jump) ? [i] : []));
    if (positions.length === 0) drift.push(`${owned.table} ${from} does not jump to ${owned.chain}`);
    else if (positions[0] !== 0) drift.push(`${owned.table} ${from} jumps to ${owned.chain} at position ${String((positions[0] ?? 0) + 1)}, expected 1`);
    if (positions.length > 1) drift.push(`${owned.table} ${from} jumps to ${owned.chain} ${String(positions.length)} times, expected once`);
    return { from, positions };
  });
  return { owned, exists: chain !== undefined, contentsIntact, jumps, drift };
}

/** Diagnoses every chain podid owns for `spec` (filter guard first, then nat). */
export function diagnoseInterception(spec: InterceptionSpec, ruleset: IptablesRuleset): readonly OwnedChainDiagnosis[] {
  return desiredInterception(spec).map((owned) => diagnoseOwnedChain(owned, ruleset));
}

/**
 * The port's {@link InterceptionState} for a dump: intact when every owned chain holds exactly its rules
 * and each built-in chain jumps to it once, first. The original only checked its nat chain's three
 * `-S` lines and that PREROUTING jumped to it somewhere; position and duplicates matter here because a
 * rule before the jump can ACCEPT or DNAT pod traffic elsewhere first.
 */
export function inspectInterception(spec: InterceptionSpec, ruleset: IptablesRuleset): InterceptionState {
  const drift = diagnoseInterception(spec, ruleset).flatMap((d) => d.drift);
  return { intact: drift.length === 0, drift };
}
