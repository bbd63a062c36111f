/** Label and field selectors: parsing and matching against a direct model of each operator. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchesFields, parseFieldSelector } from "./field-selector.js";
import { matchesLabels, parseLabelSelector, type LabelRequirement } from "./label-selector.js";

const keyArb = fc.constantFrom("app", "tier", "example.com/team", "aadpodidbinding");
const valueArb = fc.constantFrom("a", "b", "c-1", "x.y");
const labelsArb = fc.dictionary(keyArb, valueArb, { maxKeys: 4, noNullPrototype: true });
const requirementArb: fc.Arbitrary<LabelRequirement> = fc.oneof(
  fc.record({ key: keyArb, operator: fc.constantFrom("=" as const, "!=" as const), values: fc.tuple(valueArb) }),
  fc.record({ key: keyArb, operator: fc.constantFrom("in" as const, "notin" as const), values: fc.uniqueArray(valueArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ key: keyArb, operator: fc.constantFrom("exists" as const, "!exists" as const), values: fc.constant([]) }),
);

function render(req: LabelRequirement, spacing: string): string {
  switch (req.operator) {
    case "exists":
      return req.key;
    case "!exists":
      return `!${req.key}`;
    case "in":
    case "notin":
      return `${req.key} ${req.operator}${spacing}(${req.values.join(`,${spacing}`)})`;
    default:
      return `${req.key}${spacing}${req.operator === "=" ? "==" : "!="}${spacing}${req.values[0] ?? ""}`;
  }
}

function model(req: LabelRequirement, labels: Record<string, string>): boolean {
  const value = labels[req.key];
  switch (req.operator) {
    case "=":
      return value === req.values[0];
    case "!=":
      return value !== req.values[0];
    case "in":
      return value !== undefined && req.values.includes(value);
    case "notin":
      return value === undefined || !req.values.includes(value);
    case "exists":
      return value !== undefined;
    case "!exists":
      return value === undefined;
    default:
      return false;
  }
}

describe("label selectors", () => {
  it("parse what they print and match like the per-operator model (an AND of requirements)", () => {
    fc.assert(
      fc.property(fc.array(requirementArb, { maxLength: 4 }), labelsArb, fc.constantFrom("", " "), (reqs, labels, spacing) => {
        const text = reqs.map((r) => render(r, spacing)).join(",");
        const parsed = parseLabelSelector(text);
        expect(parsed.map((r) => ({ key: r.key, operator: r.operator, values: [...r.values] }))).toEqual(reqs.map((r) => ({ ...r, values: [...r.values] })));
        expect(matchesLabels(parsed, labels)).toBe(reqs.every((r) => model(r, labels)));
      }),
      { numRuns: 300 },
    );
  });

  it("accepts `=` and empty values and rejects malformed selectors with a 400", () => {
    expect(matchesLabels(parseLabelSelector("app=a"), { app: "a" })).toBe(true);
    expect(matchesLabels(parseLabelSelector("app="), { app: "" })).toBe(true);
    expect(matchesLabels(parseLabelSelector("n>3,n<10"), { n: "5" })).toBe(true);
    expect(matchesLabels(parseLabelSelector(""), {})).toBe(true);
    for (const bad of ["a in (b", "a in b", "=b", "a b", "a/b/c=d", "a,,b"]) {
      expect(() => parseLabelSelector(bad), bad).toThrow(expect.objectContaining({ code: 400 }) as Error);
    }
  });
});

describe("field selectors", () => {
  const pod = { metadata: { name: "p", namespace: "ns" }, spec: { nodeName: "n1", hostNetwork: false }, status: { phase: "Running", podIP: "10.0.0.1" } };

  it("compare simple fields by dotted path, absent fields as the empty string", () => {
    expect(matchesFields(parseFieldSelector("metadata.name=p,metadata.namespace=ns"), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector("spec.nodeName==n1,status.phase!=Pending"), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector("status.podIP=10.0.0.2"), pod)).toBe(false);
    expect(matchesFields(parseFieldSelector("spec.hostNetwork=false"), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector("spec.schedulerName="), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector("metadata.name=a\\,b"), { metadata: { name: "a,b" } })).toBe(true);
    expect(() => parseFieldSelector("metadata.name")).toThrow(expect.objectContaining({ code: 400 }) as Error);
  });

  it("match exactly when every term holds (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("spec.nodeName", "status.phase", "metadata.name"), fc.boolean(), fc.constantFrom("n1", "Running", "p", "x")), { maxLength: 3 }), (terms) => {
        const text = terms.map(([path, eq, value]) => `${path}${eq ? "=" : "!="}${value}`).join(",");
        const actual = (path: string): string => (path === "spec.nodeName" ? "n1" : path === "status.phase" ? "Running" : "p");
        expect(matchesFields(parseFieldSelector(text), pod)).toBe(terms.every(([path, eq, value]) => (actual(path) === value) === eq));
      }),
      { numRuns: 200 },
    );
  });
});
