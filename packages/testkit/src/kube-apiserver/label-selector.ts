/**
 * Kubernetes label selectors in their query-string form (`labelSelector=`), as parsed by apimachinery's
 * `labels.Parse`: comma-separated requirements `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`
 * (exists), `!k` (does not exist), `k>n` and `k<n` (integer comparisons).
 * @packageDocumentation
 */
import { badRequest } from "./status.js";

/** The operators of one label requirement. */
export type LabelOperator = "=" | "!=" | "in" | "notin" | "exists" | "!exists" | "gt" | "lt";

/** One requirement of a label selector. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

/** A parsed label selector: an AND of requirements (the empty selector matches everything). */
export type LabelSelector = readonly LabelRequirement[];

type Token =
  | { readonly kind: "ident"; readonly text: string }
  | { readonly kind: "op"; readonly text: "=" | "==" | "!=" | "!" | ">" | "<" | "(" | ")" | "," };

const IDENT_CHAR = /[A-Za-z0-9_.\-/]/;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] ?? "";
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === "==" || two === "!=") {
      tokens.push({ kind: "op", text: two });
      i += 2;
      continue;
    }
    if (c === "=" || c === "!" || c === ">" || c === "<" || c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "op", text: c });
      i += 1;
      continue;
    }
    if (IDENT_CHAR.test(c)) {
      let j = i;
      while (j < input.length && IDENT_CHAR.test(input[j] ?? "")) j += 1;
      tokens.push({ kind: "ident", text: input.slice(i, j) });
      i = j;
      continue;
    }
    throw badRequest(`unable to parse requirement: found '${c}', error: unexpected character in label selector "${input}"`);
  }
  return tokens;
}

/**
 * Parses a label selector string; throws a 400 `ApiError` (as the real server answers) when it is malformed.
 * The empty string parses to the empty selector.
 */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} in label selector "${input}"`);
  };
  const peek = (): Token | undefined => tokens[pos];
  const next = (): Token | undefined => tokens[pos++];
  const expectIdent = (what: string): string => {
    const token = next();
    if (token?.kind !== "ident") return fail(`expected ${what}`);
    return token.text;
  };
  const parseValueSet = (): string[] => {
    const open = next();
    if (open?.kind !== "op" || open.text !== "(") return fail("expected '(' after set operator");
    const values: string[] = [];
    for (;;) {
      const token = next();
      if (token === undefined) return fail("unterminated value set");
      if (token.kind === "op" && token.text === ")") break;
      if (token.kind === "op" && token.text === ",") continue;
      if (token.kind !== "ident") return fail("expected a value in the set");
      values.push(token.text);
    }
    return values;
  };
  while (pos < tokens.length) {
    const first = peek();
    if (first?.kind === "op" && first.text === "!") {
      next();
      requirements.push({ key: validateKey(expectIdent("a key after '!'"), fail), operator: "!exists", values: [] });
    } else {
      const key = validateKey(expectIdent("a key"), fail);
      const op = peek();
      if (op === undefined || (op.kind === "op" && op.text === ",")) {
        requirements.push({ key, operator: "exists", values: [] });
      } else if (op.kind === "ident" && (op.text === "in" || op.text === "notin")) {
        next();
        requirements.push({ key, operator: op.text, values: parseValueSet() });
      } else if (op.kind === "op" && (op.text === "=" || op.text === "==" || op.text === "!=")) {
        next();
        const value = peek();
        // `k=` selects an empty value, like the real parser.
        const text = value?.kind === "ident" ? (next(), value.text) : "";
        requirements.push({ key, operator: op.text === "!=" ? "!=" : "=", values: [text] });
      } else if (op.kind === "op" && (op.text === ">" || op.text === "<")) {
        next();
        const text = expectIdent("an integer");
        if (!/^-?\d+$/.test(text)) fail(`'${text}' is not an integer`);
        requirements.push({ key, operator: op.text === ">" ? "gt" : "lt", values: [text] });
      } else {
        fail(`unexpected '${op.text}' after key '${key}'`);
      }
    }
    const sep = next();
    if (sep !== undefined && !(sep.kind === "op" && sep.text === ",")) fail("expected ','");
  }
  return requirements;
}

function validateKey(key: string, fail: (why: string) => never): string {
  const parts = key.split("/");
  if (parts.length > 2 || parts.some((p) => p === "")) fail(`invalid label key "${key}"`);
  return key;
}

/** Whether `labels` satisfy every requirement of `selector`. */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((req) => {
    const has = Object.hasOwn(labels, req.key);
    const value = has ? labels[req.key] : undefined;
    switch (req.operator) {
      case "=":
        return has && value === req.values[0];
      case "!=":
        return !has || value !== req.values[0];
      case "in":
        return has && req.values.includes(value ?? "");
      case "notin":
        return !has || !req.values.includes(value ?? "");
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(value ?? "")) return false;
        const n = Number(value);
        const bound = Number(req.values[0]);
        return req.operator === "gt" ? n > bound : n < bound;
      }
    }
  });
}
