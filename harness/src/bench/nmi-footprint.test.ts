import { describe, expect, it } from "vitest";
import { ensureBuilt } from "../nmi-e2e/e2e-node.js";
import { measureNmiFootprint } from "./nmi-footprint.js";

/**
 * The real `podid-nmi` process against the fake kube-apiserver (through the traffic recorder): it lists and
 * watches only what its token path reads — its node's pods and AzureAssignedIdentities, identities and
 * bindings, exceptions of its exception namespaces, never Nodes — and so is sent no watch event when a pod, an
 * AAI or a Node elsewhere, or an exception outside its exception namespaces, changes. A change of a pod on
 * its own node is the control that events do arrive. The memory figures are the bench's, not asserted here.
 */
describe("podid-nmi watch scope (real process, fake kube-apiserver)", () => {
  it("lists and watches only its node's objects, identities, bindings and the exception namespaces; unrelated changes send it nothing", async () => {
    ensureBuilt();
    const node = "aks-bench-12345678-vmss000000";
    const footprint = await measureNmiFootprint({ nodes: 20, pods: 200, podsOnNode: 10, sharedIdentities: 20, settleMs: 1_500 });

    const crd = (plural: string) => `/apis/aadpodidentity.k8s.io/v1/${plural}`;
    const expected = [
      { path: "/api/v1/pods", fieldSelector: `spec.nodeName=${node}` },
      { path: crd("azureassignedidentities"), labelSelector: `nodename=${node}` },
      { path: crd("azureidentities") },
      { path: crd("azureidentitybindings") },
      { path: "/apis/aadpodidentity.k8s.io/v1/namespaces/kube-system/azurepodidentityexceptions" },
      { path: "/apis/aadpodidentity.k8s.io/v1/namespaces/podid-system/azurepodidentityexceptions" },
    ];
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    expect(footprint.listed.map(({ path, labelSelector, fieldSelector }) => ({ path, ...(labelSelector !== undefined ? { labelSelector } : {}), ...(fieldSelector !== undefined ? { fieldSelector } : {}) })).sort(byPath)).toEqual(
      [...expected].sort(byPath),
    );
    expect([...footprint.watched].sort(byPath)).toEqual([...expected].sort(byPath));
    // Only this node's pods and AAIs come back, and only the exception of an exception namespace.
    expect(footprint.listed.find((l) => l.path === "/api/v1/pods")?.objects).toBe(10);
    expect(footprint.listed.find((l) => l.path === crd("azureassignedidentities"))?.objects).toBe(10);
    expect(footprint.listed.filter((l) => l.path.endsWith("/azurepodidentityexceptions")).reduce((sum, l) => sum + l.objects, 0)).toBe(1);

    expect(footprint.warmTokens).toBe(10);
    expect(footprint.unrelatedEventSample).toEqual([]);
    expect(footprint.unrelatedEvents).toBe(0);
    expect(footprint.relatedEvents).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
