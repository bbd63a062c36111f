/**
 * Which `podid explain` verdicts are problems, for the exit code (`2` when any is). A table over every
 * {@link VerdictKind}, so a new kind does not compile until someone decides whether it is a problem.
 * @packageDocumentation
 */
import type { Verdict, VerdictKind } from "./explanation-types.js";

/**
 * - `ok`: the pod gets what podid means it to get (including nothing, for a terminated pod);
 * - `pending`: MIC or the scheduler has work left that needs nobody's help;
 * - `problem`: something needs a change (the verdict's fix) or an operator's look.
 */
export type VerdictSeverity = "ok" | "pending" | "problem";

/** The severity of every verdict kind. */
export const VERDICT_SEVERITY: Readonly<Record<VerdictKind, VerdictSeverity>> = {
  assigned: "ok",
  exception: "ok",
  terminated: "ok",
  "waiting for MIC": "pending",
  "being removed": "pending",
  "not scheduled": "pending",
  stale: "pending",
  quarantined: "problem",
  "assignment failing": "problem",
  "not attached": "problem",
  "label typo": "problem",
  "label key typo": "problem",
  "no label": "problem",
  "no binding": "problem",
  "invalid binding": "problem",
  "identity missing": "problem",
  "invalid resourceID": "problem",
  "invalid identity": "problem",
  "namespace mismatch": "problem",
  "name collision": "problem",
  "node problem": "problem",
  "service account not trusted": "problem",
  "federated credential limit": "problem",
};

/** Whether any verdict of an explanation is a problem (then `podid explain` exits 2). */
export function explanationHasProblems(explanation: { readonly verdicts: readonly Verdict[] }): boolean {
  return explanation.verdicts.some((v) => VERDICT_SEVERITY[v.kind] === "problem");
}
