import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  BINDING_LABEL,
  NODENAME_LABEL,
  computeTargetKey,
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseAzurePodIdentityException,
  parseNode,
  parsePod,
  parseProviderId,
  parseUserAssignedIdentityId,
  serialiseAzureAssignedIdentity,
  serialiseAzureIdentity,
  serialiseAzureIdentityBinding,
  serialiseAzurePodIdentityException,
  serialiseNode,
  serialisePod,
} from "@podid/core";
import { azureAssignedIdentityArb } from "./azure-assigned-identity.js";
import { azureIdentityBindingArb } from "./azure-identity-binding.js";
import { azureIdentityArb } from "./azure-identity.js";
import { azurePodIdentityExceptionArb } from "./azure-pod-identity-exception.js";
import { clusterArb, type ClusterSnapshot } from "./cluster.js";
import { nodeArb } from "./node.js";
import { podArb } from "./pod.js";
import { toLegacyPascalCase } from "./raw-wire.js";

const RUNS = { numRuns: 60 };

describe("typed arbitraries produce valid models (what the parsers produce)", () => {
  it("identities, bindings, exceptions, pods, nodes and AAIs round-trip through their parsers", () => {
    fc.assert(
      fc.property(
        azureIdentityArb(),
        azureIdentityBindingArb(),
        azurePodIdentityExceptionArb(),
        podArb({ allowDeleting: true }),
        nodeArb({ allowMissingProviderId: true }),
        azureAssignedIdentityArb(),
        (identity, binding, exception, pod, node, aai) => {
          expect(parseAzureIdentity(serialiseAzureIdentity(identity))).toStrictEqual({ ok: true, value: identity });
          expect(parseAzureIdentityBinding(serialiseAzureIdentityBinding(binding))).toStrictEqual({ ok: true, value: binding });
          expect(parseAzurePodIdentityException(serialiseAzurePodIdentityException(exception))).toStrictEqual({
            ok: true,
            value: exception,
          });
          expect(parsePod(serialisePod(pod))).toStrictEqual({ ok: true, value: pod });
          expect(parseNode(serialiseNode(node))).toStrictEqual({ ok: true, value: node });
          expect(parseAzureAssignedIdentity(serialiseAzureAssignedIdentity(aai))).toStrictEqual({ ok: true, value: aai });
        },
      ),
      RUNS,
    );
  });
});

describe("azureIdentityArb", () => {
  it("respects types, namespaces and names; type-0 resourceIDs are valid ids", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [0], namespaces: ["only"], names: ["one", "two"] }), (identity) => {
        expect(identity.spec.type).toBe(0);
        expect(identity.metadata.namespace).toBe("only");
        expect(["one", "two"]).toContain(identity.metadata.name);
        expect(parseUserAssignedIdentityId(identity.spec.resourceID).ok).toBe(true);
      }),
      RUNS,
    );
  });

  it("draws resourceIDs from a small pool, so different spellings of one id occur", () => {
    const ids = fc.sample(azureIdentityArb({ types: [0] }), { numRuns: 80, seed: 3 }).map((i) => i.spec.resourceID);
    const keys = new Set(ids.map((id) => (parseUserAssignedIdentityId(id).ok ? id.toLowerCase() : id)));
    expect(keys.size).toBeLessThanOrEqual(4);
    expect(new Set(ids).size).toBeGreaterThan(keys.size);
  });
});

describe("podArb", () => {
  it("keeps pod invariants: unscheduled pods are Pending without IPs; podIPs[0] is podIP", () => {
    fc.assert(
      fc.property(podArb(), (pod) => {
        if (pod.nodeName === "") {
          expect(pod.phase).toBe("Pending");
          expect(pod.podIPs).toStrictEqual([]);
        }
        expect(pod.podIP === "").toBe(pod.podIPs.length === 0);
        if (pod.podIP !== "") expect(pod.podIPs[0]).toBe(pod.podIP);
      }),
      RUNS,
    );
  });

  it("with nodeNames [] every pod is unscheduled", () => {
    fc.assert(
      fc.property(podArb({ nodeNames: [] }), (pod) => {
        expect([pod.nodeName, pod.phase]).toStrictEqual(["", "Pending"]);
      }),
      { numRuns: 30 },
    );
  });
});

describe("nodeArb", () => {
  it("VMSS nodes are named like AKS (scale set + base-36 instance id); VM nodes like their VM", () => {
    fc.assert(
      fc.property(nodeArb(), (node) => {
        const parsed = parseProviderId(node.providerID);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const { target, instanceId } = parsed.value;
        if (target.kind === "vmss") {
          expect(node.metadata.name).toMatch(/^aks-[a-z0-9]+-\d{8}-vmss[0-9a-z]{6}$/);
          expect(node.metadata.name).toBe(`${target.name}${Number(instanceId).toString(36).padStart(6, "0")}`);
        } else {
          expect(target.name).toBe(node.metadata.name);
        }
      }),
      RUNS,
    );
  });

  it("kinds option restricts the node kind", () => {
    fc.assert(
      fc.property(nodeArb({ kinds: ["vm"] }), (node) => {
        const parsed = parseProviderId(node.providerID);
        expect(parsed.ok && parsed.value.target.kind).toBe("vm");
      }),
      { numRuns: 30 },
    );
  });
});

describe("azureAssignedIdentityArb", () => {
  it("builds AAIs the way MIC does", () => {
    fc.assert(
      fc.property(azureAssignedIdentityArb({ statuses: ["Assigned"] }), (aai) => {
        const { spec, metadata } = aai;
        expect(metadata.name).toBe(`${spec.pod}-${spec.podNamespace}-${spec.azureIdentityRef.metadata.name}`);
        expect([spec.azureIdentityRef.metadata.namespace, "default"]).toContain(metadata.namespace);
        expect(metadata.labels[NODENAME_LABEL]).toBe(spec.nodeName);
        expect(spec.azureBindingRef.spec.azureIdentity).toBe(spec.azureIdentityRef.metadata.name);
        expect(spec.azureBindingRef.metadata.namespace).toBe(spec.azureIdentityRef.metadata.namespace);
        expect(aai.status).toBe("Assigned");
      }),
      RUNS,
    );
  });
});

describe("toLegacyPascalCase", () => {
  it("renames spec fields of the custom resources and nothing else", () => {
    fc.assert(
      fc.property(azureAssignedIdentityArb(), (aai) => {
        const legacy = toLegacyPascalCase(serialiseAzureAssignedIdentity(aai));
        const spec = legacy["spec"] as Record<string, Record<string, unknown>>;
        expect(Object.keys(spec).sort()).toStrictEqual(["AzureBindingRef", "AzureIdentityRef", "NodeName", "Pod", "PodNamespace"]);
        expect(Object.keys(spec["AzureIdentityRef"]?.["spec"] ?? {})).toContain("ClientID");
        expect(Object.keys(spec["AzureBindingRef"]?.["spec"] ?? {})).toContain("Selector");
        expect(legacy["metadata"]).toStrictEqual(serialiseAzureAssignedIdentity(aai).metadata);
        expect(toLegacyPascalCase(serialisePod(podFor(aai.spec.pod)))).toStrictEqual(serialisePod(podFor(aai.spec.pod)));
      }),
      { numRuns: 30 },
    );
  });
});

function podFor(name: string) {
  return {
    kind: "Pod" as const,
    metadata: { name, namespace: "ns", labels: {}, annotations: {}, finalizers: [] },
    nodeName: "",
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Pending" as const,
    podIP: "",
    podIPs: [],
  };
}

function keyOf(o: { readonly metadata: { readonly namespace: string; readonly name: string } }): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

function identityExists(c: ClusterSnapshot, namespace: string, name: string): boolean {
  return c.identities.some((i) => i.metadata.namespace === namespace && i.metadata.name === name);
}

describe("clusterArb", () => {
  it("is consistent: valid objects, unique names, pods on known nodes, sizes bounded", () => {
    fc.assert(
      fc.property(clusterArb({ maxPods: 6, maxNodes: 4, maxIdentities: 3, maxBindings: 4, maxExceptions: 1 }), (c) => {
        expect(c.pods.length).toBeLessThanOrEqual(6);
        expect(c.nodes.length).toBeLessThanOrEqual(4);
        expect(c.identities.length).toBeLessThanOrEqual(3);
        expect(c.bindings.length).toBeLessThanOrEqual(4);
        expect(c.exceptions.length).toBeLessThanOrEqual(1);
        for (const list of [c.pods, c.nodes, c.identities, c.bindings, c.exceptions]) {
          expect(new Set(list.map(keyOf)).size).toBe(list.length);
        }
        const nodeNames = new Set(c.nodes.map((n) => n.metadata.name));
        for (const pod of c.pods) {
          expect(pod.nodeName === "" || nodeNames.has(pod.nodeName)).toBe(true);
          expect(parsePod(serialisePod(pod)).ok).toBe(true);
        }
        for (const node of c.nodes) expect(parseProviderId(node.providerID).ok).toBe(true);
        for (const identity of c.identities) expect(parseAzureIdentity(serialiseAzureIdentity(identity)).ok).toBe(true);
        for (const binding of c.bindings) expect(parseAzureIdentityBinding(serialiseAzureIdentityBinding(binding)).ok).toBe(true);
      }),
      RUNS,
    );
  });

  it("with danglingBindingWeight 0 every binding references an identity in its own namespace", () => {
    fc.assert(
      fc.property(clusterArb({ danglingBindingWeight: 0 }), (c) => {
        for (const b of c.bindings) {
          if (c.identities.length > 0) expect(identityExists(c, b.metadata.namespace, b.spec.azureIdentity)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("produces the interesting situations often enough (fixed seed)", () => {
    const clusters = fc.sample(clusterArb(), { numRuns: 150, seed: 20240601 });
    const count = (f: (c: ClusterSnapshot) => boolean) => clusters.filter(f).length;
    // Pods that really match a binding whose identity exists.
    expect(
      count((c) =>
        c.pods.some((p) =>
          c.bindings.some(
            (b) => b.spec.selector === p.metadata.labels[BINDING_LABEL] && identityExists(c, b.metadata.namespace, b.spec.azureIdentity),
          ),
        ),
      ),
    ).toBeGreaterThan(50);
    // Some bindings reference a missing identity.
    expect(count((c) => c.bindings.some((b) => !identityExists(c, b.metadata.namespace, b.spec.azureIdentity)))).toBeGreaterThan(10);
    // A VMSS with several nodes.
    expect(
      count((c) => {
        const perTarget = new Map<string, number>();
        for (const n of c.nodes) {
          const p = parseProviderId(n.providerID);
          if (p.ok && p.value.target.kind === "vmss") {
            const k = computeTargetKey(p.value.target);
            perTarget.set(k, (perTarget.get(k) ?? 0) + 1);
          }
        }
        return [...perTarget.values()].some((n) => n >= 2);
      }),
    ).toBeGreaterThan(50);
    // Pods matching a binding from another namespace (namespaced mode changes the outcome).
    expect(
      count((c) =>
        c.pods.some((p) =>
          c.bindings.some((b) => b.spec.selector === p.metadata.labels[BINDING_LABEL] && b.metadata.namespace !== p.metadata.namespace),
        ),
      ),
    ).toBeGreaterThan(20);
    // Two identities sharing an ARM identity.
    expect(
      count((c) => {
        const keys = c.identities.filter((i) => i.spec.type === 0).map((i) => i.spec.resourceID.toLowerCase());
        return new Set(keys).size < keys.length;
      }),
    ).toBeGreaterThan(5);
  });
});
