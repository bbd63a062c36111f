import { readFileSync } from "node:fs";
import { publicSurfaceOf } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";

// The package's public surface, pinned so that adding or dropping an export is a deliberate, reviewed
// change: edit ./index.ts and these lists together. Values are checked at runtime; types vanish at runtime,
// so they are read from the index's source text (testkit's publicSurfaceOf).
const VALUES = [
  "EXIT_CODE", "VERDICT_SEVERITY", "buildOfflinePlan", "explainIdentity", "explainPod", "explanationHasProblems",
  "planHasFindings", "processDeps", "renderIdentityExplanation", "renderPlan", "renderPodExplanation", "runPodid",
];

const TYPES = [
  "AssignedIdentityAction", "AssignedIdentityFacts", "BindingFacts", "CliIo", "CloudFacts", "ClusterObjects",
  "ComputeIdentityDocument", "EventView", "ExceptionFacts", "ExitCode", "ExplainOptions", "IdentityExplanation",
  "IdentityFacts", "IdentityPodFacts", "IdentityReadout", "IdentityTargetFacts", "InvalidObject", "Located",
  "ManifestObjects", "NodeFacts", "OfflinePlan", "OfflinePlanOptions", "Parsed", "PlanSkip",
  "PlannedAssignedIdentity", "PlannedTarget", "PodExplanation", "PodReadout", "PodidDeps", "SourceLocation",
  "TargetFacts", "Verdict", "VerdictKind", "VerdictSeverity",
];

describe("@podid/cli public surface", () => {
  it("names every export (no `export *`): exactly the listed values and types", () => {
    const indexSource = readFileSync(new URL("./index.ts", import.meta.url), "utf8");
    expect(publicSurfaceOf(indexSource, api)).toEqual({ values: VALUES, types: TYPES, wildcardExports: [] });
  });
});
