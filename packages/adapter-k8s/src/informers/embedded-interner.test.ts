import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAzureAssignedIdentity, serialiseAzureAssignedIdentity } from "@podid/core";
import { azureAssignedIdentityArb, makeAssigned, makeBinding, makeIdentity, makePod } from "@podid/testkit";
import { ContentInterner, internEmbedded } from "./embedded-interner.js";
import { RESOURCE_DESCRIPTORS } from "./resource-descriptors.js";

const identity = makeIdentity({ name: "reader", namespace: "team-a", resourceVersion: "7" });
const binding = makeBinding(identity, "reader");
const wireFor = (pod: string) => JSON.parse(JSON.stringify(serialiseAzureAssignedIdentity(makeAssigned(makePod({ name: pod, namespace: "team-a", ip: "10.244.0.7" }), identity, binding)))) as unknown;

describe("embedded identity and binding sharing", () => {
  it("gives every AAI parsed by the informer the same frozen copy of an equal embedded identity and binding", () => {
    const parse = RESOURCE_DESCRIPTORS.azureassignedidentities.parse;
    const a = parse(wireFor("web-0"));
    const b = parse(wireFor("web-1"));
    if (!a.ok || !b.ok) throw new Error("fixture must parse");
    expect(a.value.spec.pod).not.toBe(b.value.spec.pod);
    expect(b.value.spec.azureIdentityRef).toBe(a.value.spec.azureIdentityRef);
    expect(b.value.spec.azureBindingRef).toBe(a.value.spec.azureBindingRef);
    expect(Object.isFrozen(a.value.spec.azureIdentityRef.spec)).toBe(true);
    expect(Object.isFrozen(a.value.spec.azureBindingRef.metadata.labels)).toBe(true);
  });

  it("shares only copies equal in every field", () => {
    const interner = new ContentInterner();
    const first = interner.intern(structuredClone(identity));
    const newer = interner.intern({ ...structuredClone(identity), metadata: { ...identity.metadata, resourceVersion: "8" } });
    expect(newer).not.toBe(first);
    expect(interner.intern(structuredClone(identity))).toBe(first);
  });

  it("changes nothing but object identity: the shared result equals core's parse (property)", () => {
    const interner = new ContentInterner();
    fc.assert(
      fc.property(azureAssignedIdentityArb(), (assigned) => {
        const parsed = parseAzureAssignedIdentity(JSON.parse(JSON.stringify(serialiseAzureAssignedIdentity(assigned))));
        if (!parsed.ok) throw new Error(`arbitrary must parse: ${JSON.stringify(parsed.error)}`);
        const twin = parseAzureAssignedIdentity(JSON.parse(JSON.stringify(serialiseAzureAssignedIdentity(assigned))));
        if (!twin.ok) throw new Error("arbitrary must parse");
        const shared = internEmbedded(interner, parsed.value);
        expect(shared).toEqual(twin.value);
        expect(internEmbedded(interner, twin.value).spec.azureIdentityRef).toBe(shared.spec.azureIdentityRef);
      }),
    );
  });
});
