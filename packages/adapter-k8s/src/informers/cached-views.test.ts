import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PodView } from "@podid/core";
import { podForCache, SharedValues } from "./cached-views.js";

const text = fc.string({ minLength: 1, maxLength: 24 });
// Plain objects, as core's parser builds them (fast-check may give dictionaries a null prototype).
const labels = fc.dictionary(text, text, { maxKeys: 4 }).map((d) => ({ ...d }));
const pod: fc.Arbitrary<PodView> = fc.record({
  kind: fc.constant("Pod" as const),
  metadata: fc.record(
    {
      name: text,
      namespace: text,
      uid: text,
      resourceVersion: text,
      creationTimestamp: text,
      deletionTimestamp: text,
      labels,
      annotations: labels,
      finalizers: fc.array(text, { maxLength: 3 }),
    },
    { requiredKeys: ["name", "namespace", "labels", "annotations", "finalizers"] },
  ),
  nodeName: fc.string(),
  serviceAccountName: text,
  hostNetwork: fc.boolean(),
  phase: fc.constantFrom("Pending" as const, "Running" as const, "Succeeded" as const, "Failed" as const, "Unknown" as const),
  podIP: fc.string(),
  podIPs: fc.array(text, { maxLength: 2 }),
});

describe("cached views", () => {
  it("a cached pod keeps every field podid reads, unchanged, and nothing else of its metadata (property)", () => {
    const shared = new SharedValues(16);
    fc.assert(
      fc.property(pod, (p) => {
        const cached = podForCache(p, shared);
        const { creationTimestamp: _c, generation: _g, annotations: _a, finalizers: _f, ...read } = p.metadata;
        expect(cached.metadata).toStrictEqual({ ...read, annotations: {}, finalizers: [] });
        expect({ ...cached, metadata: undefined }).toStrictEqual({ ...p, metadata: undefined });
      }),
    );
  });

  it("keeps a label whose key is __proto__ as a label (the seed -366893553 counterexample of the property above)", () => {
    const labelsWithProto = JSON.parse('{"__proto__":" ","app":"a"}') as Record<string, string>;
    const p: PodView = {
      kind: "Pod",
      metadata: { name: "p", namespace: "n", labels: labelsWithProto, annotations: {}, finalizers: [] },
      nodeName: "",
      serviceAccountName: "default",
      hostNetwork: false,
      phase: "Pending",
      podIP: "",
      podIPs: [],
    };
    const cached = podForCache(p, new SharedValues(16));
    expect(Object.keys(cached.metadata.labels)).toStrictEqual(["__proto__", "app"]);
    expect(Object.getPrototypeOf(cached.metadata.labels)).toBe(Object.prototype);
  });

  it("shares equal values and stays within its capacity however many distinct ones it sees (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 200 }), fc.integer({ min: 1, max: 16 }), (values, capacity) => {
        const shared = new SharedValues(capacity);
        for (const value of values) {
          expect(shared.string(value)).toBe(value);
          expect(shared.size).toBeLessThanOrEqual(capacity);
        }
      }),
    );
    const shared = new SharedValues();
    const first = shared.record(JSON.parse('{"nodename":"aks-nodepool1-12345678-vmss000001"}') as Record<string, string>);
    const second = shared.record(JSON.parse('{"nodename":"aks-nodepool1-12345678-vmss000001"}') as Record<string, string>);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(shared.list(["a", "b"])).toBe(shared.list(["a", "b"]));
    expect(shared.list(["a", "b"])).not.toBe(shared.list(["b", "a"]));
  });
});
