/**
 * One iptables rule as structured data: the chain it sits in and its arguments in the canonical order
 * `iptables-save` prints (generic `-s -d -i -o -p -f` first, each with its `!`, then matches and target).
 * Comparing canonical arguments makes drift detection independent of how a rule was typed.
 * @packageDocumentation
 */
import { err, ok, type Result } from "../result.js";

/** A rule: `-A <chain> <args…>`. */
export interface IptablesRule {
  readonly chain: string;
  /** Canonical arguments (see {@link canonicalRuleArgs}), without `-A <chain>`. */
  readonly args: readonly string[];
}

/** Splits one line of `iptables-save`/`iptables -S`/`iptables-restore` text into tokens. */
export function tokenizeIptablesLine(line: string): Result<readonly string[], string> {
  // iptables-save quotes strings with spaces (e.g. `--comment "kubernetes service portals"`) and escapes
  // `"` and `\` inside quotes; iptables-restore reads them back the same way.
  const tokens: string[] = [];
  let current = "";
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i] ?? "";
    if (quoted) {
      if (ch === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
        current += line[i + 1] ?? "";
        i += 1;
      } else if (ch === '"') {
        quoted = false;
      } else {
        current += ch;
      }
    } else if (ch === '"') {
      quoted = true;
      inToken = true;
    } else if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n") {
      if (inToken) tokens.push(current);
      current = "";
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (quoted) return err("unterminated quoted string");
  if (inToken) tokens.push(current);
  return ok(tokens);
}

/** The token as iptables-save would print it: bare when safe, else double-quoted with `"` and `\` escaped. */
export function quoteIptablesToken(token: string): string {
  if (/^[^\s"\\']+$/.test(token)) return token;
  return `"${token.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const GENERIC_ALIASES: Readonly<Record<string, string>> = {
  "-s": "-s",
  "--source": "-s",
  "--src": "-s",
  "-d": "-d",
  "--destination": "-d",
  "--dst": "-d",
  "-i": "-i",
  "--in-interface": "-i",
  "-o": "-o",
  "--out-interface": "-o",
  "-p": "-p",
  "--protocol": "-p",
  "-f": "-f",
  "--fragment": "-f",
};

const OTHER_ALIASES: Readonly<Record<string, string>> = { "--jump": "-j", "--goto": "-g", "--match": "-m" };

/** Print order of the generic options in `iptables-save` (legacy and nf_tables backends agree). */
const GENERIC_ORDER = ["-s", "-d", "-i", "-o", "-p", "-f"] as const;

function canonicalValue(option: string, value: string): string {
  // iptables-save prints a host address with its /32 mask and protocol names in lower case.
  if ((option === "-s" || option === "-d") && /^[0-9.]+$/.test(value)) return `${value}/32`;
  if (option === "-p") return value.toLowerCase();
  return value;
}

/**
 * Canonical form of a rule's arguments: the generic options (`-s -d -i -o -p -f`, with `!`, long aliases
 * folded to the short ones) that precede the first match or target move to the front in `iptables-save`
 * order, bare IPv4 hosts gain `/32`, `--jump/--goto/--match` become `-j/-g/-m`; everything from the first
 * `-m`/`-j`/`-g` on keeps its order (a match's own options cannot be reordered safely).
 */
export function canonicalRuleArgs(args: readonly string[]): Result<readonly string[], string> {
  const generic = new Map<string, readonly string[]>();
  const rest: string[] = [];
  let inGeneric = true;
  for (let i = 0; i < args.length; i += 1) {
    const raw = args[i] ?? "";
    const token = OTHER_ALIASES[raw] ?? raw;
    if (!inGeneric) {
      rest.push(token);
      continue;
    }
    const negated = token === "!";
    const optionToken = negated ? (args[i + 1] ?? "") : token;
    const option = GENERIC_ALIASES[optionToken];
    if (option === undefined) {
      if (negated) return err(`"!" before ${JSON.stringify(optionToken)} is not a generic option`);
      inGeneric = false;
      rest.push(token);
      continue;
    }
    if (generic.has(option)) return err(`option ${option} given twice`);
    const optionIndex = negated ? i + 1 : i;
    if (option === "-f") {
      generic.set(option, negated ? ["!", option] : [option]);
      i = optionIndex;
      continue;
    }
    const value = args[optionIndex + 1];
    if (value === undefined || value === "") return err(`option ${option} needs a value`);
    generic.set(option, [...(negated ? ["!"] : []), option, canonicalValue(option, value)]);
    i = optionIndex + 1;
  }
  const ordered = GENERIC_ORDER.flatMap((option) => generic.get(option) ?? []);
  return ok([...ordered, ...rest]);
}

/** Builds a rule from raw arguments, canonicalising them. */
export function iptablesRule(chain: string, args: readonly string[]): Result<IptablesRule, string> {
  const canonical = canonicalRuleArgs(args);
  return canonical.ok ? ok({ chain, args: canonical.value }) : canonical;
}

/** The rule's arguments as script text (tokens quoted as iptables-save does). */
export function ruleSpecText(rule: IptablesRule): string {
  return rule.args.map(quoteIptablesToken).join(" ");
}

/**
 * The rule as `iptables -S` prints it: `-A <chain> <args…>`.
 * @internal Exported from the package index only for adapter-iptables' tests, which check IptablesNetfilter against this model.
 */
export function ruleText(rule: IptablesRule): string {
  const spec = ruleSpecText(rule);
  return spec === "" ? `-A ${rule.chain}` : `-A ${rule.chain} ${spec}`;
}

/** True when both rules sit in the same chain with the same canonical arguments. */
export function sameRule(a: IptablesRule, b: IptablesRule): boolean {
  return a.chain === b.chain && a.args.length === b.args.length && a.args.every((arg, i) => arg === b.args[i]);
}

/** The chain or target the rule jumps/goes to (`-j X` / `-g X`), or `undefined` without one. */
export function ruleTarget(rule: IptablesRule): string | undefined {
  for (let i = rule.args.length - 2; i >= 0; i -= 1) {
    const token = rule.args[i];
    if (token === "-j" || token === "-g") return rule.args[i + 1];
  }
  return undefined;
}
