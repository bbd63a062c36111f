import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { azurePodIdentityExceptionArb, toLegacyPascalCase } from "@podid/testkit";
import { parseAzurePodIdentityException } from "./parse-azure-pod-identity-exception.js";
import { serialiseAzurePodIdentityException } from "./serialise-azure-pod-identity-exception.js";

const exception = (spec: unknown) => ({
  apiVersion: "aadpodidentity.k8s.io/v1",
  kind: "AzurePodIdentityException",
  metadata: { name: "mic-exception", namespace: "kube-system" },
  spec,
});

describe("parseAzurePodIdentityException", () => {
  it("reads podLabels and legacy PodLabels", () => {
    const a = parseAzurePodIdentityException(exception({ podLabels: { app: "mic", component: "mic" } }));
    const b = parseAzurePodIdentityException(exception({ PodLabels: { app: "mic", component: "mic" } }));
    expect(a.ok && a.value.spec.podLabels).toStrictEqual({ app: "mic", component: "mic" });
    expect(b).toStrictEqual(a);
  });

  it("accepts an exception without labels (it matches nothing)", () => {
    const r = parseAzurePodIdentityException(exception(undefined));
    expect(r.ok && r.value.spec.podLabels).toStrictEqual({});
  });

  it("rejects labels that are not a map of strings", () => {
    const list = parseAzurePodIdentityException(exception({ podLabels: ["app=mic"] }));
    expect(list.ok ? [] : list.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([["invalidPodLabels", "spec.podLabels"]]);
    const value = parseAzurePodIdentityException(exception({ podLabels: { app: 1, ok: "x" } }));
    expect(value.ok ? [] : value.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
      ["invalidPodLabels", "spec.podLabels.app"],
    ]);
  });

  it("parse(serialise(m)) is m, and the legacy variant parses the same", () => {
    fc.assert(
      fc.property(azurePodIdentityExceptionArb(), (m) => {
        const raw = serialiseAzurePodIdentityException(m);
        expect(parseAzurePodIdentityException(raw)).toStrictEqual({ ok: true, value: m });
        expect(parseAzurePodIdentityException(toLegacyPascalCase(raw))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 100 },
    );
  });

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ metadata: fc.jsonValue(), spec: fc.jsonValue() })), (raw) => {
        const r = parseAzurePodIdentityException(raw);
        if (!r.ok) expect(r.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });
});
