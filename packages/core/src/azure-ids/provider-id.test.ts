import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { armNameArb, caseVariantArb } from "@podid/testkit";
import { parseProviderId } from "./provider-id.js";
import { computeTargetKey } from "./compute-target.js";
import type { AzureIdErrorReason } from "./errors.js";

const VMSS =
  "azure:///subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/MC_rg-aks_aks-cluster_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/10";
const VM =
  "azure:///subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-k8s/providers/Microsoft.Compute/virtualMachines/aks-agentpool-87654321-0";

describe("parseProviderId — examples", () => {
  it("parses an AKS VMSS instance and keeps value casing", () => {
    expect(parseProviderId(VMSS)).toEqual({
      ok: true,
      value: {
        target: {
          kind: "vmss",
          subscriptionId: "11111111-2222-3333-4444-555555555555",
          resourceGroup: "MC_rg-aks_aks-cluster_westeurope",
          name: "aks-nodepool1-12345678-vmss",
        },
        instanceId: "10",
      },
    });
  });

  it("parses a standalone VM (no instance id)", () => {
    expect(parseProviderId(VM)).toEqual({
      ok: true,
      value: {
        target: {
          kind: "vm",
          subscriptionId: "11111111-2222-3333-4444-555555555555",
          resourceGroup: "rg-k8s",
          name: "aks-agentpool-87654321-0",
        },
      },
    });
  });

  it("accepts lower-case segment names and scheme (cloud-provider-azure writes resourcegroups on some versions)", () => {
    const r = parseProviderId(VMSS.replace("resourceGroups", "resourcegroups").replace("azure://", "AZURE://"));
    expect(r.ok && r.value.target.name).toBe("aks-nodepool1-12345678-vmss");
  });

  it.each<[string, string, AzureIdErrorReason]>([
    ["empty", "", "emptyProviderId"],
    ["another cloud", "aws:///us-east-1a/i-0123456789abcdef0", "notAzureProvider"],
    ["kind", "kind://docker/kind/kind-control-plane", "notAzureProvider"],
    ["no ARM path", "azure://", "malformedProviderId"],
    ["trailing slash", `${VM}/`, "malformedProviderId"],
    ["whitespace", `${VM} `, "malformedProviderId"],
    ["missing segment", VM.replace("/providers", ""), "malformedProviderId"],
    ["empty VM name", VM.replace("aks-agentpool-87654321-0", ""), "malformedProviderId"],
    ["VMSS without instance", VMSS.slice(0, VMSS.lastIndexOf("/virtualMachines")), "unsupportedResourceType"],
    ["availability set", VM.replace("virtualMachines", "availabilitySets"), "unsupportedResourceType"],
    ["other provider", VM.replace("Microsoft.Compute", "Microsoft.AzureStackHCI"), "unsupportedResourceType"],
  ])("rejects %s", (_label, input, reason) => {
    const r = parseProviderId(input);
    expect(r.ok ? undefined : r.error).toMatchObject({ kind: "invalidAzureId", reason, input });
  });
});

const targetPartsArb = fc.record({
  subscriptionId: fc.oneof(fc.uuid(), armNameArb),
  resourceGroup: armNameArb,
  name: armNameArb,
  instanceId: fc.nat(10_000).map(String),
  vmss: fc.boolean(),
});

/** Builds a providerID with random case variants of the fixed parts. */
const providerIdArb = targetPartsArb.chain((p) =>
  fc
    .tuple(
      caseVariantArb("azure://"),
      caseVariantArb("subscriptions"),
      caseVariantArb("resourceGroups"),
      caseVariantArb("providers"),
      caseVariantArb("Microsoft.Compute"),
      caseVariantArb("virtualMachineScaleSets"),
      caseVariantArb("virtualMachines"),
    )
    .map(([scheme, s, rg, prov, ns, vmss, vm]) => {
      const base = `${scheme}/${s}/${p.subscriptionId}/${rg}/${p.resourceGroup}/${prov}/${ns}`;
      return {
        parts: p,
        providerID: p.vmss ? `${base}/${vmss}/${p.name}/${vm}/${p.instanceId}` : `${base}/${vm}/${p.name}`,
      };
    }),
);

describe("parseProviderId — properties", () => {
  it("generated VM and VMSS provider ids parse to their exact values", () => {
    fc.assert(
      fc.property(providerIdArb, ({ parts, providerID }) => {
        const r = parseProviderId(providerID);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.target).toEqual({
          kind: parts.vmss ? "vmss" : "vm",
          subscriptionId: parts.subscriptionId,
          resourceGroup: parts.resourceGroup,
          name: parts.name,
        });
        expect(r.value.instanceId).toBe(parts.vmss ? parts.instanceId : undefined);
      }),
      { numRuns: 200 },
    );
  });

  it("the compute target key ignores case and, for VMSS, the instance", () => {
    fc.assert(
      fc.property(providerIdArb, fc.nat(10_000), ({ providerID }, otherInstance) => {
        const a = parseProviderId(providerID);
        const b = parseProviderId(providerID.toUpperCase().replace("AZURE://", "azure://"));
        expect(a.ok && b.ok).toBe(true);
        if (!a.ok || !b.ok) return;
        expect(computeTargetKey(b.value.target)).toBe(computeTargetKey(a.value.target));
        if (a.value.target.kind === "vmss") {
          const sibling = providerID.replace(/\/[^/]+$/, `/${otherInstance}`);
          const c = parseProviderId(sibling);
          expect(c.ok && computeTargetKey(c.value.target)).toBe(computeTargetKey(a.value.target));
        }
      }),
      { numRuns: 150 },
    );
  });

  const mutations: readonly [string, (id: string) => string, AzureIdErrorReason][] = [
    ["drop the scheme", (id) => id.replace(/^azure:\/\//i, ""), "notAzureProvider"],
    ["drop a segment", (id) => id.replace(/\/providers\//i, "/"), "malformedProviderId"],
    ["add a segment", (id) => `${id}/extra`, "malformedProviderId"],
    ["empty name", (id) => id.replace(/\/[^/]+$/, "/"), "malformedProviderId"],
    ["empty resource group", (id) => id.replace(/(\/resourcegroups\/)[^/]+/i, "$1"), "malformedProviderId"],
    ["wrong provider", (id) => id.replace(/microsoft\.compute/i, "Microsoft.Network"), "unsupportedResourceType"],
  ];

  it("random mutations are rejected with the matching reason", () => {
    fc.assert(
      fc.property(providerIdArb, fc.constantFrom(...mutations), ({ providerID }, [, mutate, reason]) => {
        const r = parseProviderId(mutate(providerID));
        expect(r.ok ? undefined : r.error.reason).toBe(reason);
      }),
      { numRuns: 200 },
    );
  });
});
