import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentityBinding, ObjectMeta, PodPhase, PodView } from "../model/types.js";
import { bindingMatchesPod } from "./binding-matches-pod.js";
import { matchAssignments } from "./desired-assignments.js";
import { podBindingLabel } from "./pod-binding-label.js";
import { isPodScheduled, isPodTerminated } from "./pod-state.js";

const PHASES: readonly PodPhase[] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

function meta(namespace: string, name: string, labels: Readonly<Record<string, string>> = {}): ObjectMeta {
  return { name, namespace, labels, annotations: {}, finalizers: [] };
}

function pod(labels: Readonly<Record<string, string>>, nodeName = "node-1", phase: PodPhase = "Running"): PodView {
  return {
    kind: "Pod",
    metadata: meta("app", "p", labels),
    nodeName,
    serviceAccountName: "default",
    hostNetwork: false,
    phase,
    podIP: "",
    podIPs: [],
  };
}

function binding(selector: string, namespace = "app"): AzureIdentityBinding {
  return { kind: "AzureIdentityBinding", metadata: meta(namespace, "b"), spec: { azureIdentity: "id", selector } };
}

/** Label values and selectors: near-misses of each other (case, whitespace, prefixes) plus any string. */
const valueArb = fc.oneof(fc.constantFrom("web", "Web", "web ", " web", "we", "", "wéb"), fc.string({ maxLength: 6 }));
const labelsArb = fc.option(valueArb, { nil: undefined }).chain((value) =>
  fc
    .dictionary(fc.constantFrom("app", "tier", "aadpodidbinding-x"), valueArb, { maxKeys: 2 })
    .map((other) => (value === undefined ? other : { ...other, [BINDING_LABEL]: value })),
);

describe("podBindingLabel", () => {
  it("returns the aadpodidbinding label verbatim, or an empty string when absent", () => {
    fc.assert(
      fc.property(labelsArb, (labels) => {
        expect(podBindingLabel(pod(labels))).toBe(Object.hasOwn(labels, BINDING_LABEL) ? labels[BINDING_LABEL] : "");
      }),
    );
  });

  it("ignores an inherited (non-own) property of the label map", () => {
    const inherited = Object.create({ [BINDING_LABEL]: "web" }) as Record<string, string>;
    expect(podBindingLabel(pod(inherited))).toBe("");
  });
});

describe("bindingMatchesPod", () => {
  it("matches exactly when the label is non-empty and equal to the selector", () => {
    fc.assert(
      fc.property(labelsArb, valueArb, (labels, selector) => {
        const label = podBindingLabel(pod(labels));
        expect(bindingMatchesPod(binding(selector), pod(labels))).toBe(label !== "" && label === selector);
      }),
    );
  });

  it("does not fold case or trim", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 8 }), (selector) => {
        const p = pod({ [BINDING_LABEL]: selector });
        expect(bindingMatchesPod(binding(selector), p)).toBe(true);
        for (const variant of [selector.toUpperCase(), selector.toLowerCase(), ` ${selector}`, `${selector} `]) {
          expect(bindingMatchesPod(binding(variant), p)).toBe(variant === selector);
        }
      }),
    );
  });

  it("ignores namespaces: a binding in any namespace can match", () => {
    const p = pod({ [BINDING_LABEL]: "web" });
    expect(bindingMatchesPod(binding("web", "elsewhere"), p)).toBe(true);
  });

  it("agrees with matchAssignments on a single scheduled pod, binding and identity", () => {
    fc.assert(
      fc.property(labelsArb, valueArb, (labels, selector) => {
        const p = pod(labels);
        const b = binding(selector);
        const id = {
          kind: "AzureIdentity" as const,
          metadata: meta("app", "id"),
          spec: {
            type: 0 as const,
            resourceID: "",
            clientID: "",
            tenantID: "",
            auxiliaryTenantIDs: [],
            adEndpoint: "",
            adResourceID: "",
            serviceAccounts: [],
          },
        };
        const result = matchAssignments({ pods: [p], bindings: [b], identities: [id] }, { forceNamespaced: false });
        expect(result.assignments.length === 1).toBe(bindingMatchesPod(b, p));
      }),
    );
  });
});

describe("pod state", () => {
  it("isPodScheduled is true exactly when the pod has a node", () => {
    fc.assert(
      fc.property(fc.constantFrom("", "node-1", "aks-nodepool1-0"), fc.constantFrom(...PHASES), (nodeName, phase) => {
        expect(isPodScheduled(pod({}, nodeName, phase))).toBe(nodeName !== "");
      }),
    );
  });

  it("isPodTerminated is true exactly for Succeeded and Failed, whatever the deletion state", () => {
    fc.assert(
      fc.property(fc.constantFrom(...PHASES), fc.boolean(), (phase, deleting) => {
        const base = pod({}, "node-1", phase);
        const p: PodView = deleting
          ? { ...base, metadata: { ...base.metadata, deletionTimestamp: "2024-01-01T00:00:00Z" } }
          : base;
        expect(isPodTerminated(p)).toBe(phase === "Succeeded" || phase === "Failed");
      }),
    );
  });
});
