import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { azureAssignedIdentityArb, azureIdentityArb, azureIdentityBindingArb, NAMESPACE_POOL, podArb } from "@podid/testkit";
import { BINDING_LABEL } from "../model/constants.js";
import type { AzureAssignedIdentity, AzureIdentity, PodView } from "../model/types.js";
import { backAssignedIdentity, type LiveIdentityObjects } from "./assignment-backing.js";
import { indexAssignedIdentitiesByPod, indexLiveIdentityObjects } from "./decision-index.js";
import { chooseIdentity, type IdentitySource } from "./identity-source.js";
import type { IdentitySelector } from "./token-request.js";

const NODE = "aks-nodepool1-12345678-vmss000000";
const POD_NAMES = ["web-0", "web-1"];

/** The caller, and the cluster with small pools so bindings, identities, pods and AAIs often meet (duplicates too). */
const scenarioArb = fc
  .record({
    pod: podArb({ names: POD_NAMES, nodeNames: [NODE], phases: ["Running", "Running", "Pending", "Succeeded"] }),
    bindings: fc.array(azureIdentityBindingArb(), { maxLength: 8 }),
    identities: fc.array(azureIdentityArb(), { maxLength: 8 }),
    forceNamespaced: fc.boolean(),
  })
  .chain(({ pod, bindings, identities, forceNamespaced }) =>
    // Bindings granting some identities to the caller's label, so that many scenarios end in a grant.
    fc.tuple(fc.subarray(identities), azureIdentityBindingArb()).map(([granted, base]) => ({
      pod,
      forceNamespaced,
      identities,
      granted,
      bindings: [
        ...bindings,
        ...granted.map((identity) => ({
          ...base,
          metadata: { ...base.metadata, namespace: identity.metadata.namespace, name: `grant-${identity.metadata.name}` },
          spec: { ...base.spec, azureIdentity: identity.metadata.name, selector: pod.metadata.labels[BINDING_LABEL] ?? "" },
        })),
      ],
    })),
  )
  .chain(({ pod, bindings, identities, granted, forceNamespaced }) => {
    const named: fc.Arbitrary<AzureIdentity> = identities.length === 0 ? azureIdentityArb() : fc.oneof(fc.constantFrom(...identities), azureIdentityArb());
    // AAIs naming the caller (often with its label as selector) or a same-named pod of another namespace, or another pod.
    const anyAai: fc.Arbitrary<AzureAssignedIdentity> = fc
      .tuple(
        azureAssignedIdentityArb({ statuses: ["Assigned", "Assigned", "Created", "", "Unassigned"], nodeNames: [NODE], podNamespaces: [pod.metadata.namespace, pod.metadata.namespace, ...NAMESPACE_POOL] }),
        named,
        fc.constantFrom(...POD_NAMES),
        fc.boolean(),
      )
      .map(([base, identity, podName, ownSelector]) => ({
        ...base,
        spec: {
          ...base.spec,
          azureIdentityRef: identity,
          azureBindingRef: ownSelector ? { ...base.spec.azureBindingRef, spec: { ...base.spec.azureBindingRef.spec, selector: pod.metadata.labels[BINDING_LABEL] ?? "" } } : base.spec.azureBindingRef,
          pod: podName,
          nodeName: NODE,
        },
      }));
    // An Assigned AAI for the caller itself, its label as selector, naming a granted identity when there is
    // one: without it a grant needs five independent draws to meet, so about one scenario in a hundred
    // reached one and the property needed thousands of runs (seconds of generation) to say much.
    const ownAai = fc
      .tuple(
        azureAssignedIdentityArb({ statuses: ["Assigned"], nodeNames: [NODE], podNamespaces: [pod.metadata.namespace] }),
        granted.length === 0 ? named : fc.constantFrom(...granted),
      )
      .map(([a, identity]): AzureAssignedIdentity => ({
        ...a,
        spec: {
          ...a.spec,
          azureIdentityRef: identity,
          azureBindingRef: { ...a.spec.azureBindingRef, spec: { ...a.spec.azureBindingRef.spec, selector: pod.metadata.labels[BINDING_LABEL] ?? "" } },
          pod: pod.metadata.name,
        },
      }));
    const aai = fc.oneof(anyAai, ownAai);
    const selector: fc.Arbitrary<IdentitySelector | undefined> = fc.option(
      fc.oneof(named.map((i): IdentitySelector => ({ by: "client_id", value: i.spec.clientID })), named.map((i): IdentitySelector => ({ by: "msi_res_id", value: i.spec.resourceID }))),
      { nil: undefined },
    );
    return fc.record({ aais: fc.array(aai, { maxLength: 8 }), selector }).map(({ aais, selector: chosen }) => ({
      pod,
      live: { bindings, identities } satisfies LiveIdentityObjects,
      aais,
      forceNamespaced,
      selector: chosen,
    }));
  });

/** The standard source as core's plain functions read it, and the same with every index a caller may keep. */
function sources(live: LiveIdentityObjects, aais: readonly AzureAssignedIdentity[], forceNamespaced: boolean): { plain: IdentitySource; indexed: IdentitySource } {
  const plain: IdentitySource = { mode: "standard", assignedIdentities: aais, ...live, options: { forceNamespaced } };
  const indexed: IdentitySource = {
    ...plain,
    ...indexLiveIdentityObjects(live),
    assignedIdentitiesByPod: indexAssignedIdentitiesByPod(aais),
  };
  return { plain, indexed };
}

describe("decision indexes change no answer", () => {
  it("backAssignedIdentity answers the same with the selector and identity indexes as without", () => {
    fc.assert(
      fc.property(scenarioArb, ({ pod, live, aais, forceNamespaced }) => {
        const indexed = indexLiveIdentityObjects(live);
        for (const aai of aais) {
          expect(backAssignedIdentity(aai, pod, indexed, { forceNamespaced })).toEqual(backAssignedIdentity(aai, pod, live, { forceNamespaced }));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("standard-mode identity choice is the same with the by-pod AAI index and the live indexes as without", () => {
    let chosen = 0;
    fc.assert(
      fc.property(scenarioArb, ({ pod, live, aais, forceNamespaced, selector }) => {
        const { plain, indexed } = sources(live, aais, forceNamespaced);
        const request = selector === undefined ? {} : { selector };
        const expected = chooseIdentity(pod, request, plain);
        if (expected.kind === "chosen") chosen += 1;
        expect(chooseIdentity(pod, request, indexed)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
    // The scenarios reach grants, not only refusals (else equality would prove little): about one in twenty.
    expect(chosen).toBeGreaterThan(15);
  });

  it("groups every AAI under the pod it names, in list order", () => {
    fc.assert(
      fc.property(scenarioArb, ({ aais, pod }: { aais: AzureAssignedIdentity[]; pod: PodView }) => {
        const index = indexAssignedIdentitiesByPod(aais);
        expect([...index.values()].reduce((n, group) => n + group.length, 0)).toBe(aais.length);
        const own = aais.filter((a) => a.spec.pod === pod.metadata.name && a.spec.podNamespace === pod.metadata.namespace);
        const source = sources({ bindings: [], identities: [] }, aais, false).indexed;
        expect(source.mode === "standard" ? [...(source.assignedIdentitiesByPod?.values() ?? [])].flat().filter((a) => own.includes(a)) : []).toEqual(own);
      }),
      { numRuns: 500 },
    );
  });
});
