/**
 * A pure model of `iptables-restore --noflush` for the commands podid's scripts use, so a plan can be
 * previewed (dry run) and property-tested without a kernel: per table one transaction committed at
 * `COMMIT`, tables committed before a failing one stay committed (as both the legacy and nf_tables
 * backends behave).
 * @packageDocumentation
 */
import { err, ok, type Result } from "../result.js";
import { iptablesRule, ruleTarget, sameRule, tokenizeIptablesLine, type IptablesRule } from "./iptables-rule.js";
import { isBuiltInChain, type IptablesChain, type IptablesRuleset, type IptablesTable } from "./iptables-ruleset.js";

/**
 * Why the model refused a script (where real `iptables-restore` would exit non-zero).
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export interface RestoreModelError {
  readonly kind: "restoreFailed";
  /** 1-based line number of the failing line. */
  readonly line: number;
  readonly message: string;
  /** The state after the tables committed before the failure. */
  readonly committed: IptablesRuleset;
}

/** Targets provided by extensions rather than chains (a `-j` to anything else needs an existing chain). */
const EXTENSION_TARGETS: ReadonlySet<string> = new Set([
  "ACCEPT", "DROP", "RETURN", "QUEUE", "REJECT", "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "LOG", "MARK",
  "CONNMARK", "NOTRACK", "CT", "TPROXY", "TCPMSS", "NFLOG", "NFQUEUE", "TRACE", "CHECKSUM", "CLASSIFY",
]);

type Chains = Map<string, { name: string; policy?: string; rules: IptablesRule[] }>;

function copyChains(table: IptablesTable | undefined): Chains {
  const chains: Chains = new Map();
  for (const chain of table?.chains.values() ?? []) {
    chains.set(chain.name, chain.policy === undefined ? { name: chain.name, rules: [...chain.rules] } : { name: chain.name, policy: chain.policy, rules: [...chain.rules] });
  }
  return chains;
}

function freezeTable(name: string, chains: Chains): IptablesTable {
  return {
    name,
    chains: new Map(
      [...chains].map(([chainName, c]): [string, IptablesChain] => [
        chainName,
        c.policy === undefined ? { name: chainName, rules: [...c.rules] } : { name: chainName, policy: c.policy, rules: [...c.rules] },
      ]),
    ),
  };
}

/** Applies one command line to a table's chains; returns an error message or `undefined`. */
function applyCommand(table: string, chains: Chains, tokens: readonly string[]): string | undefined {
  const [command, chainName, ...rest] = tokens;
  if (chainName === undefined) {
    if (command !== "-F") return `${String(command)} needs a chain`;
    for (const chain of chains.values()) chain.rules = [];
    return undefined;
  }
  const chainOrBuiltIn = (): { name: string; policy?: string; rules: IptablesRule[] } | undefined => {
    const found = chains.get(chainName);
    if (found !== undefined || !isBuiltInChain(table, chainName)) return found;
    // iptables-nft creates a built-in chain the first time a rule needs it.
    const created = { name: chainName, policy: "ACCEPT", rules: [] as IptablesRule[] };
    chains.set(chainName, created);
    return created;
  };
  const checkTarget = (rule: IptablesRule): string | undefined => {
    const target = ruleTarget(rule);
    if (target === undefined || EXTENSION_TARGETS.has(target) || chains.has(target)) return undefined;
    return `Chain '${target}' does not exist`;
  };
  switch (command) {
    case "-N":
      if (chains.has(chainName)) return `Chain '${chainName}' already exists`;
      chains.set(chainName, { name: chainName, rules: [] });
      return undefined;
    case "-F": {
      const chain = chains.get(chainName);
      if (chain === undefined) return `Chain '${chainName}' does not exist`;
      chain.rules = [];
      return undefined;
    }
    case "-X": {
      const chain = chains.get(chainName);
      if (chain === undefined) return `Chain '${chainName}' does not exist`;
      if (isBuiltInChain(table, chainName)) return `Cannot delete built-in chain '${chainName}'`;
      if (chain.rules.length > 0) return `Directory not empty: '${chainName}'`;
      for (const other of chains.values()) if (other.rules.some((r) => ruleTarget(r) === chainName)) return `Chain '${chainName}' is in use`;
      chains.delete(chainName);
      return undefined;
    }
    case "-A": {
      const chain = chainOrBuiltIn();
      if (chain === undefined) return `Chain '${chainName}' does not exist`;
      const rule = iptablesRule(chainName, rest);
      if (!rule.ok) return rule.error;
      const problem = checkTarget(rule.value);
      if (problem !== undefined) return problem;
      chain.rules.push(rule.value);
      return undefined;
    }
    case "-I": {
      const chain = chainOrBuiltIn();
      if (chain === undefined) return `Chain '${chainName}' does not exist`;
      const hasIndex = rest[0] !== undefined && /^[0-9]+$/.test(rest[0]);
      const index = hasIndex ? Number(rest[0]) : 1;
      if (index < 1 || index > chain.rules.length + 1) return `Index of insertion too big`;
      const rule = iptablesRule(chainName, hasIndex ? rest.slice(1) : rest);
      if (!rule.ok) return rule.error;
      const problem = checkTarget(rule.value);
      if (problem !== undefined) return problem;
      chain.rules.splice(index - 1, 0, rule.value);
      return undefined;
    }
    case "-D": {
      const chain = chains.get(chainName);
      if (chain === undefined) return `Chain '${chainName}' does not exist`;
      if (rest.length === 1 && rest[0] !== undefined && /^[0-9]+$/.test(rest[0])) {
        const index = Number(rest[0]);
        if (index < 1 || index > chain.rules.length) return `Index of deletion too big`;
        chain.rules.splice(index - 1, 1);
        return undefined;
      }
      const rule = iptablesRule(chainName, rest);
      if (!rule.ok) return rule.error;
      const at = chain.rules.findIndex((r) => sameRule(r, rule.value));
      if (at < 0) return `Bad rule (does a matching rule exist in that chain?)`;
      chain.rules.splice(at, 1);
      return undefined;
    }
    default:
      return `unsupported command ${JSON.stringify(command)}`;
  }
}

/**
 * The ruleset after `iptables-restore --noflush` ran `script` on `current`: `*table` opens a transaction
 * on a copy, `:CHAIN` sets a built-in's policy or creates/empties a custom chain, `-N -A -I -D -F -X`
 * behave like iptables (targets must exist, `-X` needs an empty, unreferenced custom chain), `COMMIT`
 * publishes the table. An error discards the open table and reports what was committed before it.
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export function applyRestoreScript(current: IptablesRuleset, script: string): Result<IptablesRuleset, RestoreModelError> {
  const tables = new Map(current.tables);
  let open: { name: string; chains: Chains } | undefined;
  const lines = script.split("\n");
  const fail = (line: number, message: string): Result<IptablesRuleset, RestoreModelError> =>
    err({ kind: "restoreFailed", line, message, committed: { tables: new Map(tables) } });
  for (let index = 0; index < lines.length; index += 1) {
    const line = (lines[index] ?? "").trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) {
      if (open !== undefined) return fail(index + 1, "COMMIT expected");
      const name = line.slice(1);
      open = { name, chains: copyChains(tables.get(name)) };
      continue;
    }
    if (open === undefined) return fail(index + 1, "no table opened");
    if (line === "COMMIT") {
      tables.set(open.name, freezeTable(open.name, open.chains));
      open = undefined;
      continue;
    }
    if (line.startsWith(":")) {
      const match = /^:(\S+)\s+(\S+)(\s+\[\d+:\d+\])?$/.exec(line);
      if (match === null) return fail(index + 1, "bad chain declaration");
      const name = match[1] ?? "";
      const policy = match[2] ?? "-";
      const existing = open.chains.get(name);
      if (isBuiltInChain(open.name, name)) {
        if (policy === "-") return fail(index + 1, "built-in chain needs a policy");
        open.chains.set(name, { name, policy, rules: existing?.rules ?? [] });
      } else if (existing !== undefined) {
        existing.rules = [];
      } else {
        open.chains.set(name, { name, rules: [] });
      }
      continue;
    }
    const tokens = tokenizeIptablesLine(line);
    if (!tokens.ok) return fail(index + 1, tokens.error);
    const problem = applyCommand(open.name, open.chains, tokens.value);
    if (problem !== undefined) return fail(index + 1, problem);
  }
  if (open !== undefined) return fail(lines.length, "COMMIT expected");
  return ok({ tables });
}
