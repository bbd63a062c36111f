import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { azureIdentityArb, azureIdentityBindingArb, makeAssigned, makeBinding, makeIdentity, makePod, podArb } from "@podid/testkit";
import { ok } from "../result.js";
import { BEHAVIOR_ANNOTATION, BEHAVIOR_NAMESPACED } from "../model/constants.js";
import type { PodView } from "../model/types.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import { mayBeAssigned } from "./assignment-prospect.js";
import { decideTokenRequest, type TokenDecisionInput } from "./decide-token.js";
import { NMI_DECISION_DEFAULTS } from "./nmi-options.js";

const NODE = "node-0";
const scheduledPodArb = podArb({ nodeNames: [NODE], phases: ["Running"] });
const liveArb = fc.record({
  bindings: fc.array(azureIdentityBindingArb(), { maxLength: 5 }),
  identities: fc.array(azureIdentityArb(), { maxLength: 5 }),
});

describe("mayBeAssigned (properties)", () => {
  it("is true whenever MIC's matching would assign the pod something (never answers 'unbound' for a pod MIC assigns)", () => {
    fc.assert(
      fc.property(scheduledPodArb, liveArb, fc.boolean(), (pod, live, forceNamespaced) => {
        const planned = matchAssignments({ pods: [pod], ...live }, { forceNamespaced }).assignments.length > 0;
        if (planned) expect(mayBeAssigned(pod, live, { forceNamespaced })).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("is false without a selecting binding, and adding bindings never turns true into false", () => {
    fc.assert(
      fc.property(scheduledPodArb, liveArb, liveArb, fc.boolean(), (pod, live, more, forceNamespaced) => {
        const label = pod.metadata.labels["aadpodidbinding"] ?? "";
        if (!live.bindings.some((b) => label !== "" && b.spec.selector === label)) expect(mayBeAssigned(pod, live, { forceNamespaced })).toBe(false);
        if (mayBeAssigned(pod, live, { forceNamespaced })) {
          expect(mayBeAssigned(pod, { bindings: [...live.bindings, ...more.bindings], identities: live.identities }, { forceNamespaced })).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("decideTokenRequest: unbound pods are answered at once (examples)", () => {
  const identity = makeIdentity({ name: "web-id", namespace: "team-a" });
  const binding = makeBinding(identity, "web");
  const input = (pod: PodView, live = { bindings: [binding], identities: [identity] }, aais = [] as ReturnType<typeof makeAssigned>[]): TokenDecisionInput => ({
    request: ok({ resource: "r" }),
    caller: ok(pod),
    exceptions: [],
    managedIdentities: live.identities,
    identities: { mode: "standard", assignedIdentities: aais, ...live, options: { forceNamespaced: false } },
    elapsedMs: 0,
    options: NMI_DECISION_DEFAULTS,
  });

  it("no label, or no binding with its value → 404 at once, not after 80 s", () => {
    for (const pod of [makePod({ name: "loner", namespace: "team-a", node: NODE, ip: "10.0.0.5" }), makePod({ name: "typo", namespace: "team-a", node: NODE, ip: "10.0.0.6", selector: "wbe" })]) {
      expect(decideTokenRequest(input(pod))).toMatchObject({ kind: "notFound", reason: { kind: "noBoundIdentity" } });
    }
  });

  it("namespaced rules: a namespaced identity's binding in another namespace cannot select the pod → 404 at once", () => {
    const namespacedId = makeIdentity({ name: "ns-id", namespace: "team-b", annotations: { [BEHAVIOR_ANNOTATION]: BEHAVIOR_NAMESPACED } });
    const pod = makePod({ name: "web-0", namespace: "team-a", node: NODE, ip: "10.0.0.7", selector: "ns" });
    const live = { bindings: [makeBinding(namespacedId, "ns")], identities: [namespacedId] };
    expect(decideTokenRequest(input(pod, live))).toMatchObject({ kind: "notFound", reason: { kind: "noBoundIdentity" } });
    const otherId = makeIdentity({ name: "other-id", namespace: "team-b" });
    const forced = { bindings: [makeBinding(otherId, "ns")], identities: [otherId] };
    expect(decideTokenRequest(input(pod, forced))).toMatchObject({ kind: "wait" });
    const forcedInput = input(pod, forced);
    expect(decideTokenRequest({ ...forcedInput, identities: { mode: "standard", assignedIdentities: [], ...forced, options: { forceNamespaced: true } } })).toMatchObject({ kind: "notFound", reason: { kind: "noBoundIdentity" } });
  });

  it("a selected pod still waits for its first AAI, and for its Created AAI", () => {
    const pod = makePod({ name: "web-0", namespace: "team-a", node: NODE, ip: "10.0.0.8", selector: "web" });
    expect(decideTokenRequest(input(pod))).toMatchObject({ kind: "wait", reason: "noneAssigned", remainingMs: 80_000 });
    const created = makeAssigned(pod, identity, binding, "Created");
    expect(decideTokenRequest(input(pod, undefined, [created]))).toMatchObject({ kind: "wait", reason: "notYetAssigned" });
  });
});
