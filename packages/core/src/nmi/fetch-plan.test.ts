import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { azureIdentityArb } from "@podid/testkit";
import type { AzureIdentity } from "../model/types.js";
import { completeFetchPlan, planTokenFetch } from "./fetch-plan.js";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("planTokenFetch", () => {
  it("asks IMDS by client id for type 0, and needs a Secret for types 1 and 2", () => {
    fc.assert(
      fc.property(azureIdentityArb(), fc.constantFrom("https://vault.azure.net", "https://management.azure.com/", "api://app"), (identity, resource) => {
        const plan = planTokenFetch(identity, resource);
        expect(plan.ok).toBe(true);
        if (!plan.ok) return;
        if (identity.spec.type === 0) {
          expect(plan.value).toEqual({
            kind: "managedIdentity",
            request: { kind: "managedIdentity", resource, selector: { by: "client_id", value: identity.spec.clientID } },
          });
        } else {
          expect(plan.value).toMatchObject({
            kind: identity.spec.type === 1 ? "servicePrincipalSecret" : "servicePrincipalCertificate",
            resource,
            clientId: identity.spec.clientID,
            tenantId: identity.spec.tenantID,
            secretRef: identity.spec.clientPassword,
            authorityHost: identity.spec.adEndpoint,
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never produces a selector-less IMDS request (which would be the node's system identity)", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [0] }), fc.constantFrom("", "x"), fc.constantFrom("", "/r"), (identity, clientID, resourceID) => {
        const broken: AzureIdentity = { ...identity, spec: { ...identity.spec, clientID, resourceID } };
        const plan = planTokenFetch(broken, "r");
        if (clientID === "" && resourceID === "") expect(plan.ok).toBe(false);
        else expect(plan.ok && plan.value.kind === "managedIdentity" && plan.value.request.selector).toBeTruthy();
      }),
      { numRuns: 100 },
    );
  });
});

describe("completeFetchPlan", () => {
  const secretRef = { name: "sp", namespace: "team-a" };
  const sp = { resource: "r", tenantId: "t", clientId: "c", secretRef, authorityHost: "" };

  it("type 1: uses clientSecret, or the only key; refuses ambiguity", () => {
    const plan = { kind: "servicePrincipalSecret" as const, ...sp, auxiliaryTenantIds: ["t2"] };
    expect(completeFetchPlan(plan, { clientSecret: bytes("s3cret"), other: bytes("x") })).toEqual({
      ok: true,
      value: { kind: "servicePrincipalSecret", resource: "r", tenantId: "t", clientId: "c", secret: "s3cret", auxiliaryTenantIds: ["t2"], authorityHost: "" },
    });
    expect(completeFetchPlan(plan, { key1: bytes("abcd") }).ok && true).toBe(true);
    expect(completeFetchPlan(plan, { a: bytes("1"), b: bytes("2") })).toMatchObject({ ok: false, error: { kind: "secretInvalid", secretRef } });
    expect(completeFetchPlan(plan, {}).ok).toBe(false);
    expect(completeFetchPlan(plan, { clientSecret: Uint8Array.from([0xff]) }).ok).toBe(false);
  });

  it("type 2: needs certificate bytes, password optional", () => {
    const plan = { kind: "servicePrincipalCertificate" as const, ...sp };
    const cert = Uint8Array.from([1, 2, 3]);
    expect(completeFetchPlan(plan, { certificate: cert })).toEqual({
      ok: true,
      value: { kind: "servicePrincipalCertificate", resource: "r", tenantId: "t", clientId: "c", certificate: cert, password: "", authorityHost: "" },
    });
    expect(completeFetchPlan(plan, { certificate: cert, password: bytes("pw") })).toMatchObject({ ok: true, value: { password: "pw" } });
    expect(completeFetchPlan(plan, { password: bytes("pw") }).ok).toBe(false);
  });

  it("type 0 ignores the Secret", () => {
    const request = { kind: "managedIdentity" as const, resource: "r", selector: { by: "client_id" as const, value: "c" } };
    expect(completeFetchPlan({ kind: "managedIdentity", request }, {})).toEqual({ ok: true, value: request });
  });
});
