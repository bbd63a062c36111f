import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { nodeArb } from "@podid/testkit";
import { parseNode } from "./parse-node.js";
import { serialiseNode } from "./serialise-node.js";

describe("parseNode", () => {
  it("reads name and providerID; the namespace is always empty", () => {
    const providerID =
      "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/0";
    const r = parseNode({ metadata: { name: "aks-ss000000", labels: { a: "b" } }, spec: { providerID } });
    expect(r).toStrictEqual({
      ok: true,
      value: {
        kind: "Node",
        metadata: { name: "aks-ss000000", namespace: "", labels: { a: "b" }, annotations: {}, finalizers: [] },
        providerID,
      },
    });
  });

  it("accepts a node without providerID", () => {
    const r = parseNode({ kind: "Node", metadata: { name: "kind-worker" }, spec: {} });
    expect(r.ok && r.value.providerID).toBe("");
  });

  it("requires a name and a string providerID", () => {
    const r = parseNode({ metadata: {}, spec: { providerID: 7 } });
    expect(r.ok ? [] : r.error.issues.map((i) => i.reason)).toStrictEqual(["missingName", "invalidFieldType"]);
    const wrong = parseNode({ kind: "Pod", metadata: { name: "x" } });
    expect(wrong.ok ? [] : wrong.error.issues.map((i) => i.reason)).toStrictEqual(["wrongKind"]);
  });

  it("parse(serialise(m)) is m for VM and VMSS nodes", () => {
    fc.assert(
      fc.property(nodeArb({ allowMissingProviderId: true }), (m) => {
        expect(parseNode(JSON.parse(JSON.stringify(serialiseNode(m))))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 100 },
    );
  });

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ metadata: fc.jsonValue(), spec: fc.jsonValue() })), (raw) => {
        const r = parseNode(raw);
        if (!r.ok) expect(r.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });
});
