/**
 * Field selectors (`fieldSelector=`), as apimachinery's `fields.ParseSelector` reads them: comma-separated
 * `path=value`, `path==value` or `path!=value`, with `\,` `\=` `\\` escapes.
 *
 * Deliberately more permissive than the real server: kube-apiserver accepts only a per-kind list of fields
 * (for pods `metadata.name`, `metadata.namespace`, `spec.nodeName`, `spec.restartPolicy`, `spec.schedulerName`,
 * `spec.serviceAccountName`, `spec.hostNetwork`, `status.phase`, `status.podIP`, `status.nominatedNodeName`; for
 * custom resources only `metadata.name`/`metadata.namespace`), while this fake evaluates any dotted path to a
 * simple field on any kind. An absent field compares as the empty string, which is how `spec.nodeName=` selects
 * unscheduled pods on a real cluster.
 * @packageDocumentation
 */
import { valueAtPath, type JsonObject } from "./json.js";
import { badRequest } from "./status.js";

/** One `path op value` term. */
export interface FieldRequirement {
  readonly path: string;
  readonly operator: "=" | "!=";
  readonly value: string;
}

/** A parsed field selector: an AND of terms. */
export type FieldSelector = readonly FieldRequirement[];

function splitUnescaped(input: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < input.length; i += 1) {
    const c = input[i] ?? "";
    if (c === "\\" && i + 1 < input.length) {
      current += c + (input[i + 1] ?? "");
      i += 1;
    } else if (c === separator) {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, "$1");
}

/** Parses a field selector; throws a 400 `ApiError` when a term has no operator. */
export function parseFieldSelector(input: string): FieldSelector {
  const out: FieldRequirement[] = [];
  for (const term of splitUnescaped(input, ",")) {
    if (term.trim() === "") continue;
    const match = /^((?:[^=!\\]|\\.)+?)(!=|==|=)(.*)$/.exec(term);
    if (match === null) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    const path = (match[1] ?? "").trim();
    out.push({ path, operator: match[2] === "!=" ? "!=" : "=", value: unescape(match[3] ?? "") });
  }
  return out;
}

/** The string a field selector compares for `path` (absent and non-scalar values are ""). */
export function fieldValue(object: JsonObject, path: string): string {
  const value = valueAtPath(object, path);
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "";
}

/** Whether `object` satisfies every term of `selector`. */
export function matchesFields(selector: FieldSelector, object: JsonObject): boolean {
  return selector.every((req) => (fieldValue(object, req.path) === req.value) === (req.operator === "="));
}
