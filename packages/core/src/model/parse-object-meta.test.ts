import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { objectMetaArb } from "@podid/testkit";
import { parseObjectMeta } from "./parse-object-meta.js";
import { serialiseObjectMeta } from "./serialise-object-meta.js";

const NAMESPACED = { objectKind: "AzureIdentity", namespaced: true } as const;

describe("parseObjectMeta", () => {
  it("reads every supported field and drops empty optional strings", () => {
    const r = parseObjectMeta(
      {
        name: "a",
        namespace: "ns",
        uid: "u",
        resourceVersion: "",
        generation: 2,
        creationTimestamp: "2024-01-01T00:00:00Z",
        deletionTimestamp: "2024-01-02T00:00:00Z",
        labels: { x: "y" },
        annotations: null,
        finalizers: ["f"],
        managedFields: [{}],
      },
      NAMESPACED,
    );
    expect(r).toStrictEqual({
      ok: true,
      value: {
        name: "a",
        namespace: "ns",
        uid: "u",
        generation: 2,
        creationTimestamp: "2024-01-01T00:00:00Z",
        deletionTimestamp: "2024-01-02T00:00:00Z",
        labels: { x: "y" },
        annotations: {},
        finalizers: ["f"],
      },
    });
  });

  it("reports missing metadata, name and namespace", () => {
    const missing = parseObjectMeta(undefined, NAMESPACED);
    expect(missing.ok ? [] : missing.error.issues.map((i) => i.reason)).toStrictEqual(["missingMetadata"]);
    const empty = parseObjectMeta({}, NAMESPACED);
    expect(empty.ok ? [] : empty.error.issues.map((i) => i.reason)).toStrictEqual(["missingName", "missingNamespace"]);
    const node = parseObjectMeta({ name: "n", namespace: "ignored" }, { objectKind: "Node", namespaced: false });
    expect(node.ok && node.value.namespace).toBe("");
  });

  it("reports bad types with dotted paths", () => {
    const r = parseObjectMeta({ name: "a", namespace: "b", labels: { ok: "1", bad: 2 }, finalizers: "f", generation: 1.5 }, NAMESPACED);
    expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
      ["invalidFieldType", "metadata.generation"],
      ["invalidFieldType", "metadata.labels.bad"],
      ["invalidFieldType", "metadata.finalizers"],
    ]);
    if (!r.ok) expect(r.error).toMatchObject({ objectKind: "AzureIdentity", namespace: "b", name: "a" });
  });

  it("parse(serialise(m)) is m", () => {
    fc.assert(
      fc.property(objectMetaArb({ allowDeleting: true }), (m) => {
        expect(parseObjectMeta(serialiseObjectMeta(m), NAMESPACED)).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 150 },
    );
  });

  it("serialising never aliases the model's maps and lists", () => {
    fc.assert(
      fc.property(objectMetaArb(), (m) => {
        const wire = serialiseObjectMeta(m);
        if (wire.labels !== undefined) expect(wire.labels).not.toBe(m.labels);
        if (wire.finalizers !== undefined) expect(wire.finalizers).not.toBe(m.finalizers);
      }),
      { numRuns: 50 },
    );
  });
});
