import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { azureIdentityArb, podArb } from "@podid/testkit";
import { isServiceAccountTrusted, podServiceAccountName } from "./service-account-trust.js";

describe("isServiceAccountTrusted (docs/adr/0021-federated-identities.md)", () => {
  it("trusts exactly pods in the identity's namespace running as a listed service account", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [3] }), podArb(), (identity, pod) => {
        const expected =
          pod.metadata.namespace === identity.metadata.namespace && identity.spec.serviceAccounts.includes(podServiceAccountName(pod));
        expect(isServiceAccountTrusted(pod, identity)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("a listed service account of another namespace is not trusted", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [3] }), podArb(), (identity, pod) => {
        const sa = identity.spec.serviceAccounts[0] ?? "default";
        const elsewhere = { ...pod, serviceAccountName: sa, metadata: { ...pod.metadata, namespace: `${identity.metadata.namespace}-other` } };
        const here = { ...elsewhere, metadata: { ...pod.metadata, namespace: identity.metadata.namespace } };
        expect(isServiceAccountTrusted(elsewhere, identity)).toBe(false);
        expect(isServiceAccountTrusted(here, identity)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("never trusts through an identity of another type, whatever it lists", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [0, 1, 2] }), podArb(), (identity, pod) => {
        const listing = { ...identity, spec: { ...identity.spec, serviceAccounts: [podServiceAccountName(pod)] } };
        const same = { ...pod, metadata: { ...pod.metadata, namespace: identity.metadata.namespace } };
        expect(isServiceAccountTrusted(same, listing)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("a pod naming no service account runs as default", () => {
    expect(podServiceAccountName({ serviceAccountName: "" })).toBe("default");
    expect(podServiceAccountName({ serviceAccountName: "web" })).toBe("web");
  });
});
