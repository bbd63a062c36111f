import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentityBinding, PodView } from "../model/types.js";
import { bindingMatchesPod } from "./binding-matches-pod.js";
import {
  boundedEditDistance,
  nearBindingLabelKeys,
  nearMatchingBindings,
  selectorCanMatchPodLabel,
  selectorNearMiss,
  typoBudget,
} from "./near-matches.js";

function pod(labels: Readonly<Record<string, string>>): PodView {
  return {
    kind: "Pod",
    metadata: { name: "p", namespace: "default", labels, annotations: {}, finalizers: [] },
    nodeName: "node-1",
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Running",
    podIP: "10.0.0.1",
    podIPs: ["10.0.0.1"],
  };
}

function binding(namespace: string, name: string, selector: string): AzureIdentityBinding {
  return {
    kind: "AzureIdentityBinding",
    metadata: { name, namespace, labels: {}, annotations: {}, finalizers: [] },
    spec: { azureIdentity: "id", selector },
  };
}

/** Unbounded reference implementation of the optimal-string-alignment distance. */
function referenceDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

const shortText = fc.string({ unit: fc.constantFrom("a", "b", "c", "-", "A", " "), maxLength: 10 });
const labelValue = fc.string({ unit: fc.constantFrom("a", "b", "k", "v", "-", "1"), minLength: 1, maxLength: 16 });
const RUNS = { numRuns: 300 } as const;

describe("boundedEditDistance", () => {
  it("equals the unbounded distance when within the bound, and bound + 1 otherwise", () => {
    fc.assert(
      fc.property(shortText, shortText, fc.integer({ min: 0, max: 4 }), (a, b, max) => {
        const exact = referenceDistance(a, b);
        expect(boundedEditDistance(a, b, max)).toBe(exact <= max ? exact : max + 1);
      }),
      RUNS,
    );
  });

  it("is symmetric", () => {
    fc.assert(
      fc.property(shortText, shortText, (a, b) => {
        expect(boundedEditDistance(a, b, 3)).toBe(boundedEditDistance(b, a, 3));
      }),
      RUNS,
    );
  });

  it("counts a swap of neighbours as one edit", () => {
    expect(boundedEditDistance("access", "acecss", 2)).toBe(1);
    expect(boundedEditDistance("demo-kv-acess", "demo-kv-access", 2)).toBe(1);
  });
});

describe("selectorNearMiss", () => {
  it("is never a near miss for equal or empty strings", () => {
    fc.assert(
      fc.property(shortText, (s) => {
        expect(selectorNearMiss(s, s)).toBeUndefined();
        expect(selectorNearMiss("", s)).toBeUndefined();
        expect(selectorNearMiss(s, "")).toBeUndefined();
      }),
      RUNS,
    );
  });

  it("reports a case-only difference as `case`", () => {
    fc.assert(
      fc.property(labelValue.filter((v) => v !== v.toUpperCase()), (v) => {
        expect(selectorNearMiss(v, v.toUpperCase())).toEqual({ reason: "case", distance: 0 });
      }),
      RUNS,
    );
  });

  it("reports added whitespace as `whitespace`, and with a case change as `caseAndWhitespace`", () => {
    fc.assert(
      fc.property(labelValue, fc.constantFrom(" ", "\n", "\t"), (v, ws) => {
        expect(selectorNearMiss(v, `${v}${ws}`)).toEqual({ reason: "whitespace", distance: 0 });
        if (v !== v.toUpperCase()) expect(selectorNearMiss(v, ` ${v.toUpperCase()}`)).toEqual({ reason: "caseAndWhitespace", distance: 0 });
      }),
      RUNS,
    );
  });

  it("reports a typo only within the budget of the shorter string", () => {
    fc.assert(
      fc.property(labelValue, labelValue, (a, b) => {
        const miss = selectorNearMiss(a, b);
        if (miss?.reason !== "typo") return;
        expect(miss.distance).toBeGreaterThan(0);
        expect(miss.distance).toBeLessThanOrEqual(typoBudget(Math.min(a.length, b.length)));
        expect(miss.distance).toBe(referenceDistance(a.toLowerCase(), b.toLowerCase()));
      }),
      RUNS,
    );
  });

  it("finds the label typo of the original's issue threads, and ignores short unrelated words", () => {
    expect(selectorNearMiss("demo-kv-acess", "demo-kv-access")).toEqual({ reason: "typo", distance: 1 });
    expect(selectorNearMiss("app", "api")).toBeUndefined();
    expect(selectorNearMiss("frontend", "backend")).toBeUndefined();
  });
});

describe("nearMatchingBindings", () => {
  it("never returns a binding that matches the pod exactly, and every returned one is a near miss", () => {
    const selectors = fc.constantFrom("demo-kv-access", "Demo-KV-Access", "demo-kv-access ", "demo-kv-acess", "other", "");
    fc.assert(
      fc.property(fc.option(selectors, { nil: undefined }), fc.array(fc.tuple(fc.constantFrom("default", "team-a"), selectors), { maxLength: 6 }), (label, specs) => {
        const p = pod(label === undefined ? {} : { [BINDING_LABEL]: label });
        const bindings = specs.map(([ns, s], i) => binding(ns, `b${i}`, s));
        const near = nearMatchingBindings(p, bindings);
        for (const entry of near) {
          expect(bindingMatchesPod(entry.binding, p)).toBe(false);
          expect(selectorNearMiss(label ?? "", entry.binding.spec.selector)).toEqual({ reason: entry.reason, distance: entry.distance });
        }
        const expected = bindings.filter((b) => selectorNearMiss(label ?? "", b.spec.selector) !== undefined);
        expect(near.map((n) => n.binding).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))).toEqual(
          expected.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)),
        );
        for (let i = 1; i < near.length; i++) expect((near[i - 1] as { distance: number }).distance).toBeLessThanOrEqual((near[i] as { distance: number }).distance);
      }),
      RUNS,
    );
  });
});

describe("nearBindingLabelKeys", () => {
  it("finds misspelt keys and none when the real key is present", () => {
    expect(nearBindingLabelKeys({ aadPodIdBinding: "x", app: "web" })).toEqual(["aadPodIdBinding"]);
    expect(nearBindingLabelKeys({ aadpodbinding: "x" })).toEqual(["aadpodbinding"]);
    expect(nearBindingLabelKeys({ "example.com/aadpodidbinding": "x" })).toEqual(["example.com/aadpodidbinding"]);
    expect(nearBindingLabelKeys({ aadpodidbinding: "x", aadpodbinding: "y" })).toEqual([]);
    expect(nearBindingLabelKeys({ app: "web", tier: "backend" })).toEqual([]);
  });

  it("ignores keys that are far from the binding label key", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom("app", "tier", "component", "version", "team"), fc.string({ maxLength: 5 })), (labels) => {
        expect(nearBindingLabelKeys(labels)).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe("selectorCanMatchPodLabel", () => {
  it("accepts exactly the Kubernetes label-value syntax (non-empty)", () => {
    const pattern = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "Z", "0", "-", "_", ".", " ", "/", ":"), maxLength: 70 }), (s) => {
        expect(selectorCanMatchPodLabel(s)).toBe(s.length <= 63 && pattern.test(s));
      }),
      RUNS,
    );
    expect(selectorCanMatchPodLabel("demo-kv-access")).toBe(true);
    expect(selectorCanMatchPodLabel("demo-kv-access ")).toBe(false);
    expect(selectorCanMatchPodLabel("a".repeat(64))).toBe(false);
  });
});
