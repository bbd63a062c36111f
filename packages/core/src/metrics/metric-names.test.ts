import { describe, expect, it } from "vitest";
import { CLOUD_OPERATION, METRIC, NMI_OPERATION } from "./metric-names.js";

describe("metric names", () => {
  it("keep the original's namespace, are unique and valid Prometheus names", () => {
    const names = Object.values(METRIC);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^aadpodidentity_[a-z_]+$/);
      expect(name.endsWith("_total")).toBe(false);
    }
  });

  it("bound every label value set", () => {
    expect(Object.values(CLOUD_OPERATION)).toEqual(["vm_get", "vm_update", "vmss_get", "vmss_update"]);
    expect(new Set(Object.values(NMI_OPERATION)).size).toBe(Object.values(NMI_OPERATION).length);
  });
});
