import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { armNameArb, computeTargetArb } from "@podid/testkit";
import { computeTargetId, computeTargetKey, parseComputeTargetId } from "./compute-target.js";
import type { ComputeTarget } from "./types.js";

const anyTargetArb: fc.Arbitrary<ComputeTarget> = fc.oneof(
  computeTargetArb,
  fc.record({
    kind: fc.constantFrom("vm" as const, "vmss" as const),
    subscriptionId: fc.oneof(fc.uuid(), armNameArb),
    resourceGroup: armNameArb,
    name: armNameArb,
  }),
);

describe("compute target ids", () => {
  it("formats ARM ids in ARM's spelling and keys in lower case", () => {
    const vmss: ComputeTarget = { kind: "vmss", subscriptionId: "SUB", resourceGroup: "MC_RG", name: "aks-Pool-vmss" };
    expect(computeTargetId(vmss)).toBe(
      "/subscriptions/SUB/resourceGroups/MC_RG/providers/Microsoft.Compute/virtualMachineScaleSets/aks-Pool-vmss",
    );
    expect(computeTargetKey(vmss)).toBe(
      "/subscriptions/sub/resourcegroups/mc_rg/providers/microsoft.compute/virtualmachinescalesets/aks-pool-vmss",
    );
    const vm: ComputeTarget = { ...vmss, kind: "vm", name: "VM-1" };
    expect(computeTargetKey(vm)).toBe("/subscriptions/sub/resourcegroups/mc_rg/providers/microsoft.compute/virtualmachines/vm-1");
  });

  it("rejects ids of other resources", () => {
    const r = parseComputeTargetId("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d");
    expect(r.ok ? undefined : r.error.reason).toBe("wrongResourceType");
  });

  it("parse(computeTargetId(t)) is t, and keys agree with ids case-insensitively", () => {
    fc.assert(
      fc.property(anyTargetArb, (target) => {
        const id = computeTargetId(target);
        expect(parseComputeTargetId(id)).toEqual({ ok: true, value: target });
        expect(computeTargetKey(target)).toBe(id.toLowerCase());
        const upper = parseComputeTargetId(id.toUpperCase());
        expect(upper.ok && computeTargetKey(upper.value)).toBe(computeTargetKey(target));
      }),
      { numRuns: 200 },
    );
  });

  it("a VM and a scale set of the same name never share a key", () => {
    fc.assert(
      fc.property(anyTargetArb, (target) => {
        const other: ComputeTarget = { ...target, kind: target.kind === "vm" ? "vmss" : "vm" };
        expect(computeTargetKey(other)).not.toBe(computeTargetKey(target));
      }),
      { numRuns: 50 },
    );
  });
});
