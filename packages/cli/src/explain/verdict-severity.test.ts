import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { VerdictKind } from "./explanation-types.js";
import { explanationHasProblems, VERDICT_SEVERITY } from "./verdict-severity.js";

const verdict = (kind: VerdictKind) => ({ kind, message: "m" });

describe("verdict severity (podid explain's exit code)", () => {
  it("a problem verdict anywhere makes the explanation a problem; ok and pending ones do not", () => {
    expect(explanationHasProblems({ verdicts: [verdict("assigned"), verdict("waiting for MIC"), verdict("terminated")] })).toBe(false);
    expect(explanationHasProblems({ verdicts: [verdict("assigned"), verdict("label typo")] })).toBe(true);
    expect(explanationHasProblems({ verdicts: [] })).toBe(false);
  });

  it("the README's list of kinds that exit 0 is the table's", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const line = /Exit codes of `explain`:[^\n]*(?:\n(?!\n)[^\n]*)*/.exec(readme)?.[0] ?? "";
    const notProblems = Object.entries(VERDICT_SEVERITY).filter(([, s]) => s !== "problem").map(([k]) => k);
    for (const kind of notProblems) expect(line, `README names ${kind} as exiting 0`).toContain(`\`${kind}\``);
    expect(line).toContain("`2`");
  });
});
