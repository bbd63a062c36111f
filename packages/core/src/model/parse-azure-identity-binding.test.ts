import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { azureIdentityBindingArb, toLegacyPascalCase } from "@podid/testkit";
import { parseAzureIdentityBinding } from "./parse-azure-identity-binding.js";
import { serialiseAzureIdentityBinding } from "./serialise-azure-identity-binding.js";

const binding = (spec: Record<string, unknown>) => ({
  apiVersion: "aadpodidentity.k8s.io/v1",
  kind: "AzureIdentityBinding",
  metadata: { name: "web-binding", namespace: "team-a" },
  spec,
});

describe("parseAzureIdentityBinding — examples", () => {
  it("parses the documented binding", () => {
    expect(parseAzureIdentityBinding(binding({ azureIdentity: "web-id", selector: "web" }))).toStrictEqual({
      ok: true,
      value: {
        kind: "AzureIdentityBinding",
        metadata: { name: "web-binding", namespace: "team-a", labels: {}, annotations: {}, finalizers: [] },
        spec: { azureIdentity: "web-id", selector: "web" },
      },
    });
  });

  it("reads legacy AzureIdentity/Selector/Weight", () => {
    const r = parseAzureIdentityBinding(binding({ AzureIdentity: "web-id", Selector: "web", Weight: 3 }));
    expect(r.ok && r.value.spec).toStrictEqual({ azureIdentity: "web-id", selector: "web", weight: 3 });
  });

  it("prefers camelCase over a differing legacy field", () => {
    const r = parseAzureIdentityBinding(binding({ azureIdentity: "new", AzureIdentity: "old", selector: "s" }));
    expect(r.ok && r.value.spec.azureIdentity).toBe("new");
  });

  it("reports both missing fields at once", () => {
    const r = parseAzureIdentityBinding(binding({}));
    expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
      ["missingIdentityName", "spec.azureIdentity"],
      ["missingSelector", "spec.selector"],
    ]);
  });

  it("rejects a non-integer weight", () => {
    const r = parseAzureIdentityBinding(binding({ azureIdentity: "a", selector: "s", weight: "heavy" }));
    expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([["invalidFieldType", "spec.weight"]]);
  });
});

describe("parseAzureIdentityBinding — properties", () => {
  it("parse(serialise(m)) is m, and the legacy variant parses the same", () => {
    fc.assert(
      fc.property(azureIdentityBindingArb(), (m) => {
        const raw = serialiseAzureIdentityBinding(m);
        expect(parseAzureIdentityBinding(raw)).toStrictEqual({ ok: true, value: m });
        expect(parseAzureIdentityBinding(toLegacyPascalCase(raw))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 150 },
    );
  });

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ metadata: fc.jsonValue(), spec: fc.jsonValue() })), (raw) => {
        const r = parseAzureIdentityBinding(raw);
        if (!r.ok) expect(r.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });
});
