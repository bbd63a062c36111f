/**
 * Parsing `iptables-save` and `iptables -S` output into structured tables, chains and rules, and printing
 * them back in `iptables-save` form.
 * @packageDocumentation
 */
import { err, ok, type Result } from "../result.js";
import { iptablesRule, ruleText, tokenizeIptablesLine, type IptablesRule } from "./iptables-rule.js";

/** A chain: built-in chains carry their policy (`ACCEPT`/`DROP`), custom chains none. */
export interface IptablesChain {
  readonly name: string;
  readonly policy?: string;
  readonly rules: readonly IptablesRule[];
}

/** A table (`filter`, `nat`, …) and its chains, in the order they were declared. */
export interface IptablesTable {
  readonly name: string;
  readonly chains: ReadonlyMap<string, IptablesChain>;
}

/** Every parsed table by name. A table that was not printed is simply absent. */
export interface IptablesRuleset {
  readonly tables: ReadonlyMap<string, IptablesTable>;
}

/** Why a dump could not be parsed. */
export interface IptablesParseError {
  readonly kind: "syntax";
  /** 1-based line number. */
  readonly line: number;
  readonly text: string;
  readonly message: string;
}

/** The built-in chains of each table (iptables-nft creates them on first use, so they may be missing). */
export const BUILT_IN_CHAINS_BY_TABLE: Readonly<Record<string, readonly string[]>> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  raw: ["PREROUTING", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};

/**
 * True when `chain` is one of `table`'s built-in chains.
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export function isBuiltInChain(table: string, chain: string): boolean {
  return BUILT_IN_CHAINS_BY_TABLE[table]?.includes(chain) === true;
}

/**
 * An empty ruleset.
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export const EMPTY_RULESET: IptablesRuleset = { tables: new Map() };

interface MutableTable {
  readonly name: string;
  readonly chains: Map<string, { name: string; policy?: string; rules: IptablesRule[] }>;
}

function freeze(tables: ReadonlyMap<string, MutableTable>): IptablesRuleset {
  return {
    tables: new Map(
      [...tables].map(([name, table]) => [
        name,
        {
          name,
          chains: new Map(
            [...table.chains].map(([chainName, chain]) => [
              chainName,
              chain.policy === undefined
                ? { name: chainName, rules: [...chain.rules] }
                : { name: chainName, policy: chain.policy, rules: [...chain.rules] },
            ]),
          ),
        },
      ]),
    ),
  };
}

function declare(table: MutableTable, name: string, policy: string | undefined): void {
  const existing = table.chains.get(name);
  if (existing !== undefined) {
    if (policy !== undefined) existing.policy = policy;
    return;
  }
  table.chains.set(name, policy === undefined ? { name, rules: [] } : { name, policy, rules: [] });
}

/**
 * Parses `iptables-save` output (`*table`, `:CHAIN POLICY [p:b]`, `-A …`, `COMMIT`, `#` comments, optional
 * `[p:b]` counter prefixes) and `iptables -S` output (`-P`, `-N`, `-A`) for `defaultTable` when the text
 * names no table. `-A` for a chain not declared yet declares it (a listing of one chain prints no `-N`
 * for built-ins). Lines it does not understand are errors, so a format change never passes as "no rules".
 */
export function parseIptablesDump(text: string, defaultTable = "filter"): Result<IptablesRuleset, IptablesParseError> {
  const tables = new Map<string, MutableTable>();
  const tableNamed = (name: string): MutableTable => {
    const found = tables.get(name);
    if (found !== undefined) return found;
    const created: MutableTable = { name, chains: new Map() };
    tables.set(name, created);
    return created;
  };
  let current: MutableTable | undefined;
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index += 1) {
    const raw = lines[index] ?? "";
    const line = raw.trim();
    const fail = (message: string): Result<IptablesRuleset, IptablesParseError> =>
      err({ kind: "syntax", line: index + 1, text: raw, message });
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) {
      const name = line.slice(1);
      if (!/^[a-z]+$/.test(name)) return fail("bad table name");
      current = tableNamed(name);
      continue;
    }
    if (line === "COMMIT") {
      current = undefined;
      continue;
    }
    const table = current ?? tableNamed(defaultTable);
    if (line.startsWith(":")) {
      const match = /^:(\S+)\s+(\S+)(\s+\[\d+:\d+\])?$/.exec(line);
      if (match === null) return fail("bad chain declaration");
      const name = match[1] ?? "";
      const policy = match[2] ?? "-";
      declare(table, name, policy === "-" ? undefined : policy);
      continue;
    }
    const tokenized = tokenizeIptablesLine(line.replace(/^\[\d+:\d+\]\s+/, ""));
    if (!tokenized.ok) return fail(tokenized.error);
    const [command, chain, ...args] = tokenized.value;
    if (chain === undefined || chain === "") return fail("missing chain name");
    if (command === "-P") {
      if (args.length !== 1 || args[0] === undefined) return fail("-P needs exactly one policy");
      declare(table, chain, args[0]);
    } else if (command === "-N") {
      if (args.length !== 0) return fail("-N takes only a chain name");
      declare(table, chain, undefined);
    } else if (command === "-A") {
      const rule = iptablesRule(chain, args);
      if (!rule.ok) return fail(rule.error);
      declare(table, chain, undefined);
      table.chains.get(chain)?.rules.push(rule.value);
    } else {
      return fail(`unexpected command ${JSON.stringify(command)}`);
    }
  }
  return ok(freeze(tables));
}

/**
 * The chain `name` of `table`, or `undefined` when the table or chain does not exist.
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export function findChain(ruleset: IptablesRuleset, table: string, name: string): IptablesChain | undefined {
  return ruleset.tables.get(table)?.chains.get(name);
}

/**
 * The ruleset in `iptables-save` form (without the generated-by comments): per table the chain
 * declarations in order, then every chain's rules, then `COMMIT`.
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export function renderIptablesSave(ruleset: IptablesRuleset): string {
  const lines: string[] = [];
  for (const table of ruleset.tables.values()) {
    lines.push(`*${table.name}`);
    for (const chain of table.chains.values()) lines.push(`:${chain.name} ${chain.policy ?? "-"} [0:0]`);
    for (const chain of table.chains.values()) for (const rule of chain.rules) lines.push(ruleText(rule));
    lines.push("COMMIT");
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
