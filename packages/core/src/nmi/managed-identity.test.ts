import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { azureIdentityArb, azureIdentityBindingArb, IDENTITY_NAME_POOL, NAMESPACE_POOL, podArb } from "@podid/testkit";
import { BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentity, AzureIdentityBinding, PodView } from "../model/types.js";
import { chooseManagedIdentity } from "./managed-identity.js";
import type { IdentitySelector } from "./token-request.js";

const scenarioArb = fc
  .record({
    pod: podArb({ phases: ["Running"] }),
    bindings: fc.array(azureIdentityBindingArb(), { maxLength: 6 }),
    identities: fc.array(azureIdentityArb({ names: [...IDENTITY_NAME_POOL], namespaces: [...NAMESPACE_POOL] }), { maxLength: 6 }),
  })
  .chain((s) => {
    const ids = s.identities;
    const selector: fc.Arbitrary<IdentitySelector | undefined> =
      ids.length === 0
        ? fc.constant(undefined)
        : fc.oneof(
            fc.constant(undefined),
            fc.constantFrom(...ids).chain((i) => fc.mixedCase(fc.constant(i.spec.clientID)).map((value): IdentitySelector => ({ by: "client_id", value }))),
            fc.constantFrom(...ids).map((i): IdentitySelector => ({ by: "msi_res_id", value: i.spec.resourceID.toUpperCase() })),
          );
    return selector.map((sel) => ({ ...s, selector: sel }));
  });

/** Independent statement of "binding grants identity to pod" in managed mode. */
function grants(pod: PodView, binding: AzureIdentityBinding, identity: AzureIdentity): boolean {
  const ns = pod.metadata.namespace;
  const label = pod.metadata.labels[BINDING_LABEL];
  return (
    label !== undefined &&
    binding.metadata.namespace === ns &&
    binding.spec.selector === label &&
    identity.metadata.namespace === ns &&
    identity.metadata.name === binding.spec.azureIdentity
  );
}

function matches(identity: AzureIdentity, selector: IdentitySelector | undefined): boolean {
  if (selector === undefined) return true;
  const value = selector.value.toLowerCase();
  return selector.by === "client_id"
    ? identity.spec.clientID.toLowerCase() === value
    : identity.spec.resourceID !== "" && identity.spec.resourceID.toLowerCase() === value;
}

describe("chooseManagedIdentity", () => {
  it("chooses only an identity bound to the pod's label in the pod's namespace, and always one if any fits", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenarioArb, ({ pod, bindings, identities, selector }) => {
        const choice = chooseManagedIdentity(pod, bindings, identities, selector === undefined ? {} : { selector });
        seen.add(choice.kind);
        const fitting = bindings.flatMap((b) => identities.filter((i) => grants(pod, b, i) && matches(i, selector)));
        if (choice.kind === "chosen") {
          expect(bindings).toContain(choice.binding);
          expect(identities).toContain(choice.identity);
          expect(grants(pod, choice.binding, choice.identity)).toBe(true);
          expect(matches(choice.identity, selector)).toBe(true);
        } else {
          expect(fitting).toEqual([]);
        }
      }),
      { numRuns: 1500 },
    );
    expect([...seen].sort()).toEqual(["chosen", "notFound"]);
  });

  it("does not depend on the order of bindings or identities", () => {
    fc.assert(
      fc.property(scenarioArb, ({ pod, bindings, identities, selector }) => {
        const request = selector === undefined ? {} : { selector };
        const a = chooseManagedIdentity(pod, bindings, identities, request);
        const b = chooseManagedIdentity(pod, [...bindings].reverse(), [...identities].reverse(), request);
        expect(b.kind).toBe(a.kind);
        if (a.kind === "chosen" && b.kind === "chosen") {
          expect(b.identity.metadata).toEqual(a.identity.metadata);
          expect(b.binding.metadata.name).toBe(a.binding.metadata.name);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("gives nothing to a pod without the label, nor across namespaces (TestGetIdentitiesManagedClient)", () => {
    fc.assert(
      fc.property(scenarioArb, ({ pod, bindings, identities }) => {
        const { [BINDING_LABEL]: _dropped, ...labels } = pod.metadata.labels;
        const unlabelled: PodView = { ...pod, metadata: { ...pod.metadata, labels } };
        expect(chooseManagedIdentity(unlabelled, bindings, identities, {}).kind).toBe("notFound");
        const elsewhere: PodView = { ...pod, metadata: { ...pod.metadata, namespace: "nowhere" } };
        expect(chooseManagedIdentity(elsewhere, bindings, identities, {}).kind).toBe("notFound");
      }),
      { numRuns: 200 },
    );
  });
});
