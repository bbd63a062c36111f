import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AzurePodIdentityException, ObjectMeta, PodView } from "../model/types.js";
import { isPodExcepted } from "./exceptions.js";

// Small local generators: tiny pools so that exception labels really hit pod labels, including in a
// different letter case; `constructor` and `toString` are valid label keys that also name prototype members.
const NAMESPACES = ["default", "kube-system", "team-a"] as const;
const KEYS = ["app", "tier", "component", "constructor", "toString"] as const;
const VALUES = ["mic", "MIC", "Mic", "web", "kube-proxy", ""] as const;

function meta(namespace: string, name: string, labels: Readonly<Record<string, string>> = {}): ObjectMeta {
  return { name, namespace, labels, annotations: {}, finalizers: [] };
}

function pod(namespace: string, labels: Readonly<Record<string, string>>): PodView {
  return {
    kind: "Pod",
    metadata: meta(namespace, "p", labels),
    nodeName: "node-1",
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Running",
    podIP: "10.0.0.1",
    podIPs: ["10.0.0.1"],
  };
}

function exception(
  namespace: string,
  podLabels: Readonly<Record<string, string>>,
  name = "e",
): AzurePodIdentityException {
  return { kind: "AzurePodIdentityException", metadata: meta(namespace, name), spec: { podLabels } };
}

const labelsArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)), { selector: ([k]) => k, maxLength: 3 })
  .map((entries) => Object.fromEntries(entries));

const podArb = fc.record({ ns: fc.constantFrom(...NAMESPACES), labels: labelsArb }).map((p) => pod(p.ns, p.labels));

const exceptionArb = fc
  .record({ ns: fc.constantFrom(...NAMESPACES), labels: labelsArb })
  .map((e) => exception(e.ns, e.labels));

const exceptionsArb = fc.array(exceptionArb, { maxLength: 4 });

/** `text` with the case of each letter chosen at random. */
function randomCaseArb(text: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) => [...text].map((c, i) => (upper[i] === true ? c.toUpperCase() : c.toLowerCase())).join(""));
}

const RUNS = { numRuns: 300 } as const;

describe("isPodExcepted (properties)", () => {
  it("only looks at exceptions in the pod's own namespace", () => {
    fc.assert(
      fc.property(podArb, exceptionsArb, (p, exceptions) => {
        const own = exceptions.filter((e) => e.metadata.namespace === p.metadata.namespace);
        const others = exceptions.filter((e) => e.metadata.namespace !== p.metadata.namespace);
        expect(isPodExcepted(p, exceptions)).toBe(isPodExcepted(p, own));
        expect(isPodExcepted(p, others)).toBe(false);
      }),
      RUNS,
    );
  });

  it("is an OR over exceptions", () => {
    fc.assert(
      fc.property(podArb, exceptionsArb, (p, exceptions) => {
        expect(isPodExcepted(p, exceptions)).toBe(exceptions.some((e) => isPodExcepted(p, [e])));
      }),
      RUNS,
    );
  });

  it("is an OR over the labels of one exception (not a label selector)", () => {
    fc.assert(
      fc.property(podArb, exceptionArb, (p, e) => {
        const perLabel = Object.entries(e.spec.podLabels).map(([k, v]) =>
          isPodExcepted(p, [exception(e.metadata.namespace, { [k]: v })]),
        );
        expect(isPodExcepted(p, [e])).toBe(perLabel.some(Boolean));
      }),
      RUNS,
    );
  });

  it("matches one label when the pod has that key with a value equal ignoring case", () => {
    fc.assert(
      fc.property(podArb, fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), (p, key, value) => {
        const podValue = Object.hasOwn(p.metadata.labels, key) ? p.metadata.labels[key] : undefined;
        const expected = podValue !== undefined && podValue.toLowerCase() === value.toLowerCase();
        expect(isPodExcepted(p, [exception(p.metadata.namespace, { [key]: value })])).toBe(expected);
      }),
      RUNS,
    );
  });

  it("excepts a pod whenever one of its labels is listed in any letter case, whatever else is listed", () => {
    const arb = podArb
      .filter((p) => Object.keys(p.metadata.labels).length > 0)
      .chain((p) =>
        fc.tuple(
          fc.constant(p),
          fc
            .constantFrom(...Object.entries(p.metadata.labels))
            .chain(([k, v]) => fc.tuple(fc.constant(k), randomCaseArb(v))),
          labelsArb,
          exceptionsArb,
        ),
      );
    fc.assert(
      fc.property(arb, ([p, [key, value], extra, others]) => {
        const hit = exception(p.metadata.namespace, { ...extra, [key]: value }, "hit");
        expect(isPodExcepted(p, [...others, hit])).toBe(true);
      }),
      RUNS,
    );
  });

  it("compares label keys exactly (case-sensitive)", () => {
    fc.assert(
      fc.property(fc.constantFrom("app", "tier"), fc.constantFrom(...VALUES), (key, value) => {
        const p = pod("default", { [key]: value });
        expect(isPodExcepted(p, [exception("default", { [key.toUpperCase()]: value })])).toBe(false);
      }),
    );
  });
});

describe("isPodExcepted (documented cases)", () => {
  it("excepts MIC-like pods by a single label, ignoring the value's case", () => {
    const mic = pod("kube-system", { app: "MIC", tier: "control" });
    expect(isPodExcepted(mic, [exception("kube-system", { app: "mic" })])).toBe(true);
  });

  it("needs only one listed label to match (OR, not AND)", () => {
    const p = pod("default", { app: "web" });
    expect(isPodExcepted(p, [exception("default", { app: "web", tier: "never-present" })])).toBe(true);
  });

  it("ignores an exception in another namespace", () => {
    const p = pod("team-a", { app: "mic" });
    expect(isPodExcepted(p, [exception("kube-system", { app: "mic" })])).toBe(false);
  });

  it("excepts nothing with no exceptions or an exception without labels", () => {
    const p = pod("default", { app: "web" });
    expect(isPodExcepted(p, [])).toBe(false);
    expect(isPodExcepted(p, [exception("default", {})])).toBe(false);
  });

  it("does not mistake prototype members for pod labels (and never throws on such keys)", () => {
    const p = pod("default", { app: "web" });
    for (const key of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
      const podLabels = JSON.parse(`{"${key}":"x"}`) as Record<string, string>;
      expect(isPodExcepted(p, [exception("default", podLabels)])).toBe(false);
    }
    const withOwn = pod("default", JSON.parse('{"constructor":"X"}') as Record<string, string>);
    expect(isPodExcepted(withOwn, [exception("default", { constructor: "x" })])).toBe(true);
  });
});
