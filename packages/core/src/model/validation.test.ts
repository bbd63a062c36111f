import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { describeValidationError, type ValidationError, type ValidationReason } from "./validation.js";

describe("describeValidationError", () => {
  it("names the object and every issue in one sentence", () => {
    const e: ValidationError = {
      kind: "invalid",
      objectKind: "AzureIdentity",
      namespace: "team-a",
      name: "reader",
      issues: [
        { reason: "missingResourceID", field: "spec.resourceID", message: "resourceID is required" },
        { reason: "missingClientID", field: "spec.clientID", message: "clientID is required" },
      ],
    };
    expect(describeValidationError(e)).toBe(
      "AzureIdentity team-a/reader is invalid: spec.resourceID: resourceID is required; spec.clientID: clientID is required",
    );
  });

  it("handles unnamed and cluster-scoped objects and top-level issues", () => {
    expect(
      describeValidationError({
        kind: "invalid",
        objectKind: "Pod",
        namespace: "",
        name: "",
        issues: [{ reason: "notAnObject", field: "", message: "expected a JSON object, got null" }],
      }),
    ).toBe("Pod (unnamed) is invalid: expected a JSON object, got null");
    expect(
      describeValidationError({
        kind: "invalid",
        objectKind: "Node",
        namespace: "",
        name: "n1",
        issues: [{ reason: "missingName", field: "metadata.name", message: "m" }],
      }),
    ).toBe("Node n1 is invalid: metadata.name: m");
  });

  it("is a single line mentioning every issue message", () => {
    const issueArb = fc.record({
      reason: fc.constant<ValidationReason>("invalidFieldType"),
      field: fc.stringMatching(/^[a-z.]{0,10}$/),
      message: fc.stringMatching(/^[a-z ]{1,20}$/),
    });
    fc.assert(
      fc.property(fc.array(issueArb, { minLength: 1, maxLength: 4 }), (issues) => {
        const text = describeValidationError({ kind: "invalid", objectKind: "X", namespace: "n", name: "a", issues });
        expect(text).not.toContain("\n");
        for (const i of issues) expect(text).toContain(i.message);
      }),
      { numRuns: 100 },
    );
  });
});
