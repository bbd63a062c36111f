/**
 * `podid explain` and `podid plan` as a library: the program, the pure explain/plan functions and their
 * typed results.
 *
 * Everything exported is named here on purpose (no `export *`); modules not listed are internal (the
 * cluster reader and kube access behind `explain`, the manifest loader behind `plan`, the commander
 * program). `public-surface.test.ts` pins the list.
 * @packageDocumentation
 */

// --- The program ---------------------------------------------------------------------------------
// `podid`/`kubectl-podid` in-process: runPodid(argv, deps) returns the exit code; processDeps() binds the
// dependencies to this process (stdout/stderr, working directory, stdin, clock, environment).
export { EXIT_CODE } from "./cli-io.js";
export type { CliIo, ExitCode } from "./cli-io.js";
export { processDeps } from "./process-deps.js";
export { runPodid } from "./program.js";
export type { PodidDeps } from "./program.js";

// --- explain: why a pod has (or lacks) an identity, and where an identity is used ----------------
// Pure functions of what was read from the cluster (and ARM), and their plain-text rendering.
export type { IdentityReadout } from "./explain/cluster-reader.js";
export { explainIdentity } from "./explain/explain-identity.js";
export { explainPod } from "./explain/explain-pod.js";
export { explanationHasProblems, VERDICT_SEVERITY } from "./explain/verdict-severity.js";
export type { VerdictSeverity } from "./explain/verdict-severity.js";
export type { ExplainOptions } from "./explain/explain-pod.js";
export type {
  AssignedIdentityFacts,
  BindingFacts,
  CloudFacts,
  EventView,
  ExceptionFacts,
  IdentityExplanation,
  IdentityFacts,
  IdentityPodFacts,
  IdentityTargetFacts,
  NodeFacts,
  PodExplanation,
  TargetFacts,
  Verdict,
  VerdictKind,
} from "./explain/explanation-types.js";
export type { ClusterObjects, Parsed, PodReadout } from "./explain/readout.js";
export { renderIdentityExplanation, renderPodExplanation } from "./explain/render-explanation.js";

// --- plan: what MIC would do with a set of manifests, offline ------------------------------------
export type { SourceLocation } from "./manifests/load-manifests.js";
export type { ComputeIdentityDocument, InvalidObject, Located, ManifestObjects } from "./manifests/manifest-objects.js";
export { buildOfflinePlan, planHasFindings } from "./plan/offline-plan.js";
export type {
  AssignedIdentityAction,
  OfflinePlan,
  OfflinePlanOptions,
  PlannedAssignedIdentity,
  PlannedTarget,
  PlanSkip,
} from "./plan/offline-plan.js";
export { renderPlan } from "./plan/render-plan.js";
