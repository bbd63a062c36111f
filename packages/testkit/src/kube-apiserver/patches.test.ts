/** The three patch types: RFC 7386 merge patch, strategic merge patch for built-ins, and JSON patch. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyJsonPatch } from "./json-patch.js";
import type { JsonObject, JsonValue } from "./json.js";
import { applyMergePatch } from "./merge-patch.js";
import { applyStrategicMergePatch } from "./strategic-merge-patch.js";

const leaf = fc.oneof(fc.constantFrom("a", "b"), fc.integer({ min: 0, max: 3 }), fc.boolean());
const keys = fc.constantFrom("x", "y", "z");
const doc: fc.Arbitrary<JsonObject> = fc.letrec((tie) => ({
  obj: fc.dictionary(keys, fc.oneof({ depthSize: "small" }, leaf, tie("obj"), fc.array(leaf, { maxLength: 2 })), { maxKeys: 3, noNullPrototype: true }),
})).obj as fc.Arbitrary<JsonObject>;
const patch: fc.Arbitrary<JsonObject> = fc.letrec((tie) => ({
  obj: fc.dictionary(keys, fc.oneof({ depthSize: "small" }, leaf, fc.constant(null), tie("obj")), { maxKeys: 3, noNullPrototype: true }),
})).obj as fc.Arbitrary<JsonObject>;

function model(target: JsonValue | undefined, p: JsonValue): JsonValue {
  if (typeof p !== "object" || p === null || Array.isArray(p)) return p;
  const base: JsonObject = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(p)) {
    if (v === null) delete base[k];
    else base[k] = model(base[k], v);
  }
  return base;
}

describe("merge patch", () => {
  it("follows RFC 7386 and never mutates its inputs", () => {
    fc.assert(
      fc.property(doc, patch, (d, p) => {
        const before = structuredClone(d);
        expect(applyMergePatch(d, p)).toEqual(model(d, p));
        expect(d).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it("is idempotent", () => {
    fc.assert(fc.property(doc, patch, (d, p) => {
        expect(applyMergePatch(applyMergePatch(d, p), p)).toEqual(applyMergePatch(d, p));
      }), { numRuns: 200 });
  });
});

describe("strategic merge patch", () => {
  it("equals a merge patch when no directives or merge-keyed lists are involved", () => {
    fc.assert(fc.property(doc, patch, (d, p) => {
        expect(applyStrategicMergePatch("ConfigMap", d, p)).toEqual(applyMergePatch(d, p));
      }), { numRuns: 300 });
  });

  it("merges keyed lists, sets of finalizers and honours $patch, $retainKeys and $deleteFromPrimitiveList", () => {
    const pod: JsonObject = {
      metadata: { name: "p", finalizers: ["a"], labels: { x: "1", y: "2" } },
      spec: {
        containers: [
          { name: "main", image: "v1", env: [{ name: "A", value: "1" }] },
          { name: "side", image: "s1" },
        ],
        tolerations: [{ key: "k1" }],
      },
      status: { conditions: [{ type: "Ready", status: "False" }] },
    };
    const result = applyStrategicMergePatch("Pod", pod, {
      metadata: { finalizers: ["b", "a"], labels: { x: null } },
      spec: {
        "$setElementOrder/containers": [{ name: "side" }, { name: "main" }],
        containers: [{ name: "main", image: "v2", env: [{ name: "B", value: "2" }] }, { name: "side", $patch: "delete" }, { name: "new", image: "n" }],
        tolerations: [{ key: "k2" }],
      },
      status: { conditions: [{ type: "Ready", status: "True" }, { type: "Scheduled", status: "True" }] },
    });
    expect(result).toEqual({
      metadata: { name: "p", finalizers: ["a", "b"], labels: { y: "2" } },
      spec: {
        containers: [
          { name: "main", image: "v2", env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] },
          { name: "new", image: "n" },
        ],
        tolerations: [{ key: "k2" }],
      },
      status: { conditions: [{ type: "Ready", status: "True" }, { type: "Scheduled", status: "True" }] },
    });
    expect(applyStrategicMergePatch("Pod", pod, { metadata: { $patch: "replace", name: "p" } })["metadata"]).toEqual({ name: "p" });
    expect(applyStrategicMergePatch("Pod", pod, { metadata: { $retainKeys: ["name"], name: "p" } })["metadata"]).toEqual({ name: "p" });
    expect(applyStrategicMergePatch("Pod", pod, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } })["metadata"]).toMatchObject({ finalizers: [] });
    expect(applyStrategicMergePatch("Pod", pod, { spec: { containers: [{ $patch: "replace" }, { name: "only" }] } })["spec"]).toMatchObject({ containers: [{ name: "only" }] });
    expect(() => applyStrategicMergePatch("Pod", pod, { spec: { containers: [{ image: "no-name" }] } })).toThrow(expect.objectContaining({ code: 400 }) as Error);
  });
});

describe("json patch", () => {
  it("applies operations to a copy and maps failures to 400/422 Status errors", () => {
    const obj: JsonObject = { metadata: { name: "a", labels: { x: "1" } }, status: { status: "Created" } };
    const result = applyJsonPatch(obj, [
      { op: "test", path: "/status/status", value: "Created" },
      { op: "replace", path: "/status/status", value: "Assigned" },
      { op: "add", path: "/metadata/labels/y", value: "2" },
      { op: "remove", path: "/metadata/labels/x" },
    ]);
    expect(result).toEqual({ metadata: { name: "a", labels: { y: "2" } }, status: { status: "Assigned" } });
    expect(obj["status"]).toEqual({ status: "Created" });
    expect(() => applyJsonPatch(obj, { op: "add" })).toThrow(expect.objectContaining({ code: 400 }) as Error);
    expect(() => applyJsonPatch(obj, [{ op: "test", path: "/status/status", value: "Gone" }])).toThrow(expect.objectContaining({ code: 422 }) as Error);
    expect(() => applyJsonPatch(obj, [{ op: "remove", path: "/spec/missing" }])).toThrow(expect.objectContaining({ code: 422 }) as Error);
  });
});
