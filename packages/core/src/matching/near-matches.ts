import { BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentityBinding, PodView } from "../model/types.js";
import { compareByNamespaceName } from "./order.js";
import { podBindingLabel } from "./pod-binding-label.js";

/**
 * "Nearly matched" rules for `podid explain`: a binding selects a pod only when its `selector` equals the
 * pod's `aadpodidbinding` label exactly (`bindingMatchesPod`), so a one-letter slip silently gives the pod no
 * identity. Users of the original spent years in issue threads over exactly this ("no AzureAssignedIdentity
 * found", the label typo of docs/compatibility.md#published-figures-and-known-problems). These functions
 * never change what matches; they only find the near misses worth telling a human about.
 * @packageDocumentation
 */

/** How a selector differs from a label value it nearly equals. */
export type SelectorNearMiss =
  /** Equal ignoring letter case (`Demo-KV` vs `demo-kv`). */
  | "case"
  /** Equal once whitespace is removed (`"demo "` vs `demo`). */
  | "whitespace"
  /** Equal ignoring both case and whitespace. */
  | "caseAndWhitespace"
  /** A small edit distance apart (a missing, extra, wrong or swapped character). */
  | "typo";

/** A near miss between two strings and how far apart they are. */
export interface NearMiss {
  readonly reason: SelectorNearMiss;
  /** Edit distance between the case- and whitespace-folded forms (0 for the other reasons). */
  readonly distance: number;
}

/** A binding whose selector nearly equals the pod's label value. */
export interface NearMatchingBinding extends NearMiss {
  readonly binding: AzureIdentityBinding;
}

const WHITESPACE = /\s/gu;

function stripWhitespace(text: string): string {
  return text.replace(WHITESPACE, "");
}

/**
 * How many edits still count as a typo for a string of `length` characters: none below 4 (`app` vs `api`
 * are different words), one up to 7, two from 8. Keeps short, unrelated selectors out of the report.
 */
export function typoBudget(length: number): number {
  return length < 4 ? 0 : length < 8 ? 1 : 2;
}

/**
 * The optimal-string-alignment edit distance (insert, delete, substitute, swap two neighbours) between `a`
 * and `b`, or `max + 1` as soon as it is known to exceed `max` (so long strings cost O(n·max), not O(n²)).
 */
export function boundedEditDistance(a: string, b: string, max: number): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = a.length;
  const m = b.length;
  let prevPrev: number[] = [];
  let prev: number[] = Array.from({ length: m + 1 }, (_, j) => j);
  for (let i = 1; i <= n; i++) {
    const row: number[] = [i];
    let rowMin = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (prevPrev[j - 2] ?? 0) + 1);
      row.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > max) return max + 1;
    prevPrev = prev;
    prev = row;
  }
  const distance = prev[m] ?? max + 1;
  return distance > max ? max + 1 : distance;
}

/**
 * How `selector` nearly equals the label value `label`, or `undefined` when they are equal (an exact
 * match is not a near miss), either is empty, or they are too far apart. Checked in order: case only,
 * whitespace only, both, then a typo within {@link typoBudget} of the shorter folded string. Pod label
 * values cannot contain whitespace at all (Kubernetes allows `[A-Za-z0-9_.-]`), so a selector with a stray
 * space or newline — easy to write in YAML — can never match anything.
 */
export function selectorNearMiss(label: string, selector: string): NearMiss | undefined {
  if (label === "" || selector === "" || label === selector) return undefined;
  if (label.toLowerCase() === selector.toLowerCase()) return { reason: "case", distance: 0 };
  const strippedLabel = stripWhitespace(label);
  const strippedSelector = stripWhitespace(selector);
  if (strippedLabel === strippedSelector) return { reason: "whitespace", distance: 0 };
  const foldedLabel = strippedLabel.toLowerCase();
  const foldedSelector = strippedSelector.toLowerCase();
  if (foldedLabel === foldedSelector) return { reason: "caseAndWhitespace", distance: 0 };
  const budget = typoBudget(Math.min(foldedLabel.length, foldedSelector.length));
  if (budget === 0) return undefined;
  const distance = boundedEditDistance(foldedLabel, foldedSelector, budget);
  return distance <= budget ? { reason: "typo", distance } : undefined;
}

/**
 * The bindings whose selector nearly (never exactly) equals the pod's `aadpodidbinding` label, closest
 * first: case/whitespace differences (distance 0) before typos, then by (namespace, name). A pod without
 * the label has no near matches (see {@link nearBindingLabelKeys} for a misspelt label key instead).
 * Namespaces are not compared: bindings select pods in every namespace unless the identity is namespaced,
 * which `matchAssignments` reports as `namespaceMismatch`.
 */
export function nearMatchingBindings(pod: PodView, bindings: readonly AzureIdentityBinding[]): NearMatchingBinding[] {
  const label = podBindingLabel(pod);
  const found: NearMatchingBinding[] = [];
  for (const binding of bindings) {
    const miss = selectorNearMiss(label, binding.spec.selector);
    if (miss !== undefined) found.push({ binding, ...miss });
  }
  return found.sort((a, b) => a.distance - b.distance || compareByNamespaceName(a.binding, b.binding));
}

/**
 * Label keys on the pod that look like a misspelt `aadpodidbinding` (`aadPodIdBinding`, `aadpodbinding`,
 * `aadpodidbindings`, or a prefixed `example.com/aadpodidbinding`), in sorted order; empty when the pod
 * carries the real key. Such a pod matches no binding at all, whatever the value.
 */
export function nearBindingLabelKeys(labels: Readonly<Record<string, string>>): string[] {
  if (Object.hasOwn(labels, BINDING_LABEL)) return [];
  const keys: string[] = [];
  for (const key of Object.keys(labels)) {
    const name = key.slice(key.lastIndexOf("/") + 1);
    const folded = stripWhitespace(name).toLowerCase();
    if (folded === BINDING_LABEL || boundedEditDistance(folded, BINDING_LABEL, 2) <= 2) keys.push(key);
  }
  return keys.sort();
}

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)?$/;

/**
 * True when `selector` could equal some pod's label value: at most 63 characters of `[A-Za-z0-9_.-]`,
 * starting and ending with an alphanumeric (the Kubernetes label-value syntax). The original accepted any
 * string in `spec.selector`, so a binding whose selector breaks this rule silently selects nothing.
 */
export function selectorCanMatchPodLabel(selector: string): boolean {
  return selector !== "" && selector.length <= 63 && LABEL_VALUE.test(selector);
}
