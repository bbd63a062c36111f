import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ASSIGNED_IDENTITY_FINALIZER,
  NODENAME_LABEL,
  parseAzureAssignedIdentity,
  serialiseAzureAssignedIdentity,
  type AzureAssignedIdentity,
} from "@podid/core";
import { azureAssignedIdentityArb } from "@podid/testkit";
import { createBody, reapplyUpdate, sameAssignment, withoutFinalizer } from "./assigned-identity-body.js";

const withoutServerFields = (a: AzureAssignedIdentity): AzureAssignedIdentity => {
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, deletionTimestamp: _d, generation: _g, ...metadata } = a.metadata;
  return { ...a, metadata };
};

describe("AzureAssignedIdentity write bodies", () => {
  it("create bodies carry the finalizer, no server-managed metadata, and parse back to the object (property)", () => {
    fc.assert(
      fc.property(azureAssignedIdentityArb(), fc.boolean(), (identity, dropFinalizer) => {
        const input = dropFinalizer ? { ...identity, metadata: { ...identity.metadata, finalizers: [] } } : identity;
        const body = createBody(input);
        expect(body.metadata.finalizers).toEqual([ASSIGNED_IDENTITY_FINALIZER]);
        for (const field of ["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"]) expect(body.metadata).not.toHaveProperty(field);
        expect(body.status).toEqual({ status: identity.status, availableReplicas: 1 });
        const parsed = parseAzureAssignedIdentity(JSON.parse(JSON.stringify(body)));
        expect(parsed.ok && parsed.value).toEqual(withoutServerFields({ ...input, metadata: { ...input.metadata, finalizers: [ASSIGNED_IDENTITY_FINALIZER] } }));
      }),
      { numRuns: 60 },
    );
  });

  it("re-applying an update changes only spec and the intended labels (property)", () => {
    fc.assert(
      fc.property(azureAssignedIdentityArb(), azureAssignedIdentityArb(), fc.dictionary(fc.constantFrom("team", "x"), fc.string()), (stored, intended, extraLabels) => {
        const storedWire = JSON.parse(JSON.stringify(serialiseAzureAssignedIdentity(stored))) as Record<string, unknown> & {
          metadata: Record<string, unknown>;
        };
        storedWire.metadata = { ...storedWire.metadata, labels: { ...(storedWire.metadata["labels"] as object), ...extraLabels }, resourceVersion: "42" };
        storedWire["unknownField"] = { kept: true };
        const body = reapplyUpdate(intended, storedWire) as typeof storedWire;
        expect(body["status"]).toEqual(storedWire["status"]);
        expect(body["unknownField"]).toEqual({ kept: true });
        expect(body.metadata["resourceVersion"]).toBe("42");
        expect(body.metadata["finalizers"]).toEqual(storedWire.metadata["finalizers"]);
        expect(body["spec"]).toEqual(serialiseAzureAssignedIdentity(intended).spec);
        expect((body.metadata["labels"] as Record<string, string>)[NODENAME_LABEL]).toBe(intended.spec.nodeName);
        for (const [k, v] of Object.entries(extraLabels)) expect((body.metadata["labels"] as Record<string, string>)[k]).toBe(v);
      }),
      { numRuns: 40 },
    );
  });

  it("removes only MIC's finalizer, and says when there is nothing to remove", () => {
    const stored = { metadata: { name: "a", finalizers: ["other", ASSIGNED_IDENTITY_FINALIZER] }, spec: {} };
    expect(withoutFinalizer(stored)).toEqual({ metadata: { name: "a", finalizers: ["other"] }, spec: {} });
    expect(withoutFinalizer({ metadata: { name: "a", finalizers: ["other"] } })).toBeUndefined();
    expect(withoutFinalizer({ metadata: { name: "a" } })).toBeUndefined();
  });

  it("recognises the same assignment regardless of status and versions", () => {
    fc.assert(
      fc.property(azureAssignedIdentityArb(), (a) => {
        expect(sameAssignment({ ...a, status: "Assigned", metadata: { ...a.metadata, resourceVersion: "9" } }, a)).toBe(true);
        expect(sameAssignment({ ...a, spec: { ...a.spec, nodeName: `${a.spec.nodeName}-x` } }, a)).toBe(false);
        expect(sameAssignment({ ...a, spec: { ...a.spec, pod: `${a.spec.pod}-x` } }, a)).toBe(false);
      }),
      { numRuns: 30 },
    );
  });
});
