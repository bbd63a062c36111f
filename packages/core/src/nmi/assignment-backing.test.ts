import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { azureAssignedIdentityArb, azureIdentityArb, azureIdentityBindingArb, makeAssigned, makeBinding, makeIdentity, makePod, NAMESPACE_POOL, podArb } from "@podid/testkit";
import { BEHAVIOR_ANNOTATION, BEHAVIOR_NAMESPACED, BINDING_LABEL } from "../model/constants.js";
import type { AzureAssignedIdentity, AzureIdentity, PodView } from "../model/types.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import { ok } from "../result.js";
import { backAssignedIdentity, type LiveIdentityObjects } from "./assignment-backing.js";
import { decideTokenRequest, type TokenDecisionInput } from "./decide-token.js";
import { toImdsResponse } from "./imds-response.js";
import { NMI_DECISION_DEFAULTS } from "./nmi-options.js";
import { chooseStandardIdentity } from "./standard-identity.js";

const NODE = "aks-nodepool1-12345678-vmss000000";
const FORGED = "f0f0f0f0-0000-4000-8000-00000000dead";
const FORGED_RESOURCE = "/subscriptions/s/resourceGroups/attacker/providers/Microsoft.ManagedIdentity/userAssignedIdentities/stolen";

/** A live pod on NODE, labelled or not. */
const podArbitrary: fc.Arbitrary<PodView> = podArb({ names: ["web-0", "web-1"], nodeNames: [NODE], phases: ["Running"] });

/** The live cluster: small pools, so bindings, identities and pods often meet. */
const liveArb: fc.Arbitrary<LiveIdentityObjects> = fc.record({
  bindings: fc.array(azureIdentityBindingArb(), { maxLength: 6 }),
  identities: fc.array(azureIdentityArb(), { maxLength: 6 }),
});

/**
 * AAIs aimed at `pod` (name, namespace, node, embedded selector = its label, so the older rules pass) and
 * naming identities that may or may not be granted; some embedded identities are the live object, some a
 * forged copy of a live identity's name with the attacker's client id, resource id and type.
 */
function aaisFor(pod: PodView, live: LiveIdentityObjects): fc.Arbitrary<AzureAssignedIdentity[]> {
  const claimed: fc.Arbitrary<AzureIdentity> =
    live.identities.length === 0 ? azureIdentityArb() : fc.oneof(fc.constantFrom(...live.identities), azureIdentityArb());
  return fc.array(
    fc
      .tuple(azureAssignedIdentityArb({ nodeNames: [NODE], podNamespaces: [...NAMESPACE_POOL] }), claimed, fc.boolean(), fc.constantFrom("Assigned", "Created", "") as fc.Arbitrary<AzureAssignedIdentity["status"]>)
      .map(([aai, identity, forge, status]): AzureAssignedIdentity => {
        const binding = aai.spec.azureBindingRef;
        const embedded: AzureIdentity = forge
          ? { ...identity, spec: { ...identity.spec, clientID: FORGED, resourceID: FORGED_RESOURCE, type: identity.spec.type === 0 ? 1 : 0 } }
          : identity;
        return {
          ...aai,
          status,
          spec: {
            ...aai.spec,
            azureIdentityRef: embedded,
            azureBindingRef: { ...binding, spec: { ...binding.spec, selector: pod.metadata.labels[BINDING_LABEL] ?? "" } },
            pod: pod.metadata.name,
            podNamespace: pod.metadata.namespace,
            nodeName: pod.nodeName,
          },
        };
      }),
    { maxLength: 5 },
  );
}

const scenarioArb = fc
  .tuple(podArbitrary, liveArb, fc.boolean())
  .chain(([pod, live, forceNamespaced]) => aaisFor(pod, live).map((aais) => ({ pod, live, forceNamespaced, aais })));

describe("standard mode trusts no AzureAssignedIdentity on its own", () => {
  it("grants a token only for an identity matchAssignments produces for this pod, as the live object", () => {
    fc.assert(
      fc.property(scenarioArb, ({ pod, live, forceNamespaced, aais }) => {
        const choice = chooseStandardIdentity(pod, aais, live, {}, { forceNamespaced });
        if (choice.kind !== "chosen") return;
        const produced = matchAssignments({ pods: [pod], bindings: live.bindings, identities: live.identities }, { forceNamespaced }).assignments;
        expect(produced.some((a) => a.identity === choice.identity && a.binding === choice.binding)).toBe(true);
        expect(live.identities).toContain(choice.identity);
      }),
      { numRuns: 2000 },
    );
  });

  it("never lets forged AAI fields reach the fetch plan", () => {
    fc.assert(
      fc.property(scenarioArb, ({ pod, live, forceNamespaced, aais }) => {
        const input: TokenDecisionInput = {
          request: ok({ resource: "https://vault.azure.net" }),
          caller: ok(pod),
          exceptions: [],
          managedIdentities: live.identities,
          identities: { mode: "standard", assignedIdentities: aais, bindings: live.bindings, identities: live.identities, options: { forceNamespaced } },
          elapsedMs: Number.POSITIVE_INFINITY,
          options: NMI_DECISION_DEFAULTS,
        } as TokenDecisionInput;
        const decision = decideTokenRequest(input);
        if (decision.kind !== "fetch") return;
        expect(live.identities).toContain(decision.identity);
        const plan = JSON.stringify(decision.plan);
        if (!live.identities.some((i) => i.spec.clientID === FORGED)) expect(plan).not.toContain(FORGED);
        expect(plan).not.toContain(FORGED_RESOURCE);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts exactly the AAIs whose identity the live chain grants the pod", () => {
    fc.assert(
      fc.property(scenarioArb, ({ pod, live, forceNamespaced, aais }) => {
        const produced = matchAssignments({ pods: [pod], bindings: live.bindings, identities: live.identities }, { forceNamespaced }).assignments;
        for (const aai of aais) {
          const named = aai.spec.azureIdentityRef.metadata;
          const granted = produced.some((a) => a.identity.metadata.namespace === named.namespace && a.identity.metadata.name === named.name);
          expect(backAssignedIdentity(aai, pod, live, { forceNamespaced }).ok).toBe(granted);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("has generators that reach both verdicts", () => {
    const verdicts = new Set(
      fc.sample(scenarioArb, { numRuns: 2000, seed: 20261212 }).flatMap(({ pod, live, forceNamespaced, aais }) =>
        aais.map((aai) => (backAssignedIdentity(aai, pod, live, { forceNamespaced }).ok ? "backed" : "unbacked")),
      ),
    );
    expect([...verdicts].sort()).toEqual(["backed", "unbacked"]);
  });
});

describe("forged AzureAssignedIdentities: examples", () => {
  // testkit's builders; the AAIs are hand-written as an attacker would, with whatever binding copy they like.
  const identity = (name: string, namespace: string, clientId: string, annotations: Record<string, string> = {}): AzureIdentity =>
    makeIdentity({ name, namespace, clientId, annotations });
  const pod = (labels: Record<string, string>): PodView => makePod({ name: "app-0", namespace: "team-a", ip: "10.244.0.9", uid: "u-1", labels, node: NODE });
  const secret = identity("payments", "team-b", "bbbb0000-0000-4000-8000-000000000002");
  const forgedAai = (target: PodView, id: AzureIdentity, selector: string): AzureAssignedIdentity =>
    makeAssigned(target, id, makeBinding(id, selector, "x"), "Assigned");
  const options = { forceNamespaced: false };

  it("an unlabelled pod gets nothing from a hand-written Assigned AAI naming another namespace's identity", () => {
    const unlabelled = pod({});
    const live = { identities: [secret], bindings: [makeBinding(secret, "payments", "payments")] };
    const choice = chooseStandardIdentity(unlabelled, [forgedAai(unlabelled, secret, "")], live, {}, options);
    // The older AAI-only rule already drops it for want of a label: nothing is granted either way.
    expect(choice.kind).not.toBe("chosen");
    const labelled = pod({ [BINDING_LABEL]: "web" });
    const forged = chooseStandardIdentity(labelled, [forgedAai(labelled, secret, "web")], live, {}, options);
    expect(forged).toMatchObject({ kind: "unbacked", refused: [{ reason: "noBindingSelectsPod" }] });
  });

  it("reports why: identity not bound, identity missing, namespaced", () => {
    const labelled = pod({ [BINDING_LABEL]: "web" });
    const own = identity("web", "team-a", "aaaa0000-0000-4000-8000-000000000001");
    const live = { identities: [secret, own], bindings: [makeBinding(own, "web", "web")] };
    expect(chooseStandardIdentity(labelled, [forgedAai(labelled, secret, "web")], live, {}, options)).toMatchObject({ kind: "unbacked", refused: [{ reason: "identityNotBound" }] });
    expect(chooseStandardIdentity(labelled, [forgedAai(labelled, own, "web")], { ...live, identities: [secret] }, {}, options)).toMatchObject({ kind: "unbacked", refused: [{ reason: "identityNotFound" }] });
    const guarded = identity("payments", "team-b", secret.spec.clientID, { [BEHAVIOR_ANNOTATION]: BEHAVIOR_NAMESPACED });
    const crossNamespace = { identities: [guarded], bindings: [makeBinding(guarded, "web", "b")] };
    // (chooseStandardIdentity already drops this AAI by its embedded copy; the live rule refuses it on its own too.)
    expect(backAssignedIdentity(forgedAai(labelled, guarded, "web"), labelled, crossNamespace, options)).toMatchObject({ ok: false, error: { reason: "namespaceMismatch" } });
    expect(chooseStandardIdentity(labelled, [forgedAai(labelled, guarded, "web")], crossNamespace, {}, options).kind).not.toBe("chosen");
    // Without the annotation the same cross-namespace binding is a grant (the original's default).
    expect(chooseStandardIdentity(labelled, [forgedAai(labelled, secret, "web")], { identities: [secret], bindings: crossNamespace.bindings }, {}, options)).toMatchObject({ kind: "chosen", identity: secret });
    // ...and with --forceNamespaced it is not.
    expect(chooseStandardIdentity(labelled, [forgedAai(labelled, secret, "web")], { identities: [secret], bindings: crossNamespace.bindings }, {}, { forceNamespaced: true }).kind).not.toBe("chosen");
  });

  it("takes client id, resource id and type from the live identity, not the AAI's copy", () => {
    const labelled = pod({ [BINDING_LABEL]: "web" });
    const own = identity("web", "team-a", "aaaa0000-0000-4000-8000-000000000001");
    const live = { identities: [own], bindings: [makeBinding(own, "web", "web")] };
    const tampered: AzureIdentity = { ...own, spec: { ...own.spec, clientID: FORGED, resourceID: FORGED_RESOURCE } };
    const decision = decideTokenRequest({
      request: ok({ resource: "r" }),
      caller: ok(labelled),
      exceptions: [],
      managedIdentities: live.identities,
      identities: { mode: "standard", assignedIdentities: [forgedAai(labelled, tampered, "web")], ...live, options },
      elapsedMs: 0,
      options: NMI_DECISION_DEFAULTS,
    } as TokenDecisionInput);
    expect(decision).toMatchObject({ kind: "fetch", identity: own });
    expect(JSON.stringify(decision)).not.toContain(FORGED);
  });

  it("answers an unbacked AAI at once with an IMDS-shaped 404 naming the object and the reason", () => {
    const labelled = pod({ [BINDING_LABEL]: "web" });
    const decision = decideTokenRequest({
      request: ok({ resource: "r" }),
      caller: ok(labelled),
      exceptions: [],
      managedIdentities: [secret],
      identities: { mode: "standard", assignedIdentities: [forgedAai(labelled, secret, "web")], identities: [secret], bindings: [], options },
      elapsedMs: 0,
      options: NMI_DECISION_DEFAULTS,
    } as TokenDecisionInput);
    expect(decision).toMatchObject({ kind: "notFound", reason: { kind: "unbackedAssignment", why: "noBindingSelectsPod", assignedIdentity: { namespace: "default", name: "app-0-team-a-payments" } } });
    if (decision.kind !== "notFound") return;
    const response = toImdsResponse(decision);
    expect(response.status).toBe(404);
    expect(JSON.stringify(response.body)).toContain("not backed by a live binding and identity");
  });
});
