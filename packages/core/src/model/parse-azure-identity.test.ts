import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { azureIdentityArb, toLegacyPascalCase } from "@podid/testkit";
import { parseAzureIdentity } from "./parse-azure-identity.js";
import { serialiseAzureIdentity } from "./serialise-azure-identity.js";
import { IdentityType } from "./types.js";
import type { ValidationReason } from "./validation.js";

const RESOURCE_ID =
  "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web";
const CLIENT_ID = "00000000-aaaa-4000-8000-000000000001";

/** The documented type-0 manifest (website/content/en/docs/Concepts/azureidentity.md), as JSON. */
const manifest = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: "web-id", namespace: "default" }) => ({
  apiVersion: "aadpodidentity.k8s.io/v1",
  kind: "AzureIdentity",
  metadata,
  spec,
});

function reasons(raw: unknown): ValidationReason[] {
  const r = parseAzureIdentity(raw);
  return r.ok ? [] : r.error.issues.map((i) => i.reason);
}

describe("parseAzureIdentity — examples", () => {
  it("parses the documented user-assigned identity manifest", () => {
    const r = parseAzureIdentity(manifest({ type: 0, resourceID: RESOURCE_ID, clientID: CLIENT_ID }));
    expect(r).toStrictEqual({
      ok: true,
      value: {
        kind: "AzureIdentity",
        metadata: { name: "web-id", namespace: "default", labels: {}, annotations: {}, finalizers: [] },
        spec: {
          type: 0,
          resourceID: RESOURCE_ID,
          clientID: CLIENT_ID,
          tenantID: "",
          auxiliaryTenantIDs: [],
          adEndpoint: "",
          adResourceID: "",
          serviceAccounts: [],
        },
      },
    });
  });

  it("reads a legacy (pre-1.6) PascalCase manifest exactly like the camelCase one", () => {
    const legacy = parseAzureIdentity(manifest({ Type: 0, ResourceID: RESOURCE_ID, ClientID: CLIENT_ID }));
    const current = parseAzureIdentity(manifest({ type: 0, resourceID: RESOURCE_ID, clientID: CLIENT_ID }));
    expect(legacy).toStrictEqual(current);
  });

  it("reads legacy service-principal fields (ClientPassword, TenantID, AuxiliaryTenantIDs, ADEndpoint)", () => {
    const r = parseAzureIdentity(
      manifest({
        type: 1,
        ClientID: CLIENT_ID,
        TenantID: "t1",
        ClientPassword: { name: "sp-secret" },
        AuxiliaryTenantIDs: ["t2"],
        ADEndpoint: "https://login.chinacloudapi.cn/",
        ADResourceID: "x",
      }),
    );
    expect(r.ok && r.value.spec).toStrictEqual({
      type: 1,
      resourceID: "",
      clientID: CLIENT_ID,
      tenantID: "t1",
      clientPassword: { name: "sp-secret", namespace: "default" },
      auxiliaryTenantIDs: ["t2"],
      adEndpoint: "https://login.chinacloudapi.cn/",
      adResourceID: "x",
      serviceAccounts: [],
    });
  });

  it("prefers camelCase when both spellings are present and differ (client-go ≥ 0.17 reads camelCase only)", () => {
    const r = parseAzureIdentity(manifest({ type: 0, resourceID: RESOURCE_ID, ResourceID: "bogus", clientID: CLIENT_ID, ClientID: "old" }));
    expect(r.ok && [r.value.spec.resourceID, r.value.spec.clientID]).toStrictEqual([RESOURCE_ID, CLIENT_ID]);
  });

  it("reports a missing resourceID (what camelCase readers see in legacy YAML)", () => {
    expect(reasons(manifest({ type: 0, clientID: CLIENT_ID }))).toStrictEqual(["missingResourceID"]);
  });

  it("reports a malformed resourceID with the parser's explanation", () => {
    const r = parseAzureIdentity(manifest({ type: 0, resourceID: `${RESOURCE_ID}/`, clientID: CLIENT_ID }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.issues).toHaveLength(1);
      expect(r.error.issues[0]).toMatchObject({ reason: "malformedResourceID", field: "spec.resourceID" });
      expect(r.error.issues[0]?.message).toContain("must not end with");
    }
  });

  it("defaults an absent type to 0 and accepts numeric strings", () => {
    const absent = parseAzureIdentity(manifest({ resourceID: RESOURCE_ID, clientID: CLIENT_ID }));
    expect(absent.ok && absent.value.spec.type).toBe(0);
    const quoted = parseAzureIdentity(manifest({ type: "1", clientID: CLIENT_ID, tenantID: "t", clientPassword: { name: "s" } }));
    expect(quoted.ok && quoted.value.spec.type).toBe(1);
    const two = parseAzureIdentity(manifest({ type: 2, clientID: CLIENT_ID, tenantID: "t", clientPassword: { name: "s", namespace: "x" } }));
    expect(two.ok && two.value.spec.clientPassword).toStrictEqual({ name: "s", namespace: "x" });
  });

  it.each([4, -1, 1.5, "abc", "01", " 1", "4", true, {}, []])("rejects type %j as unknownIdentityType", (type) => {
    expect(reasons(manifest({ type, resourceID: RESOURCE_ID, clientID: CLIENT_ID }))).toStrictEqual(["unknownIdentityType"]);
  });

  it("collects every issue of a service principal, not just the first", () => {
    const r = parseAzureIdentity(manifest({ type: 1, clientPassword: {} }, { name: "sp" }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ kind: "invalid", objectKind: "AzureIdentity", name: "sp", namespace: "" });
      expect(r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
        ["missingNamespace", "metadata.namespace"],
        ["missingClientID", "spec.clientID"],
        ["missingTenantID", "spec.tenantID"],
        ["missingSecretRef", "spec.clientPassword.name"],
      ]);
    }
  });

  it("treats JSON null as absent (Go leaves the zero value)", () => {
    const r = parseAzureIdentity(
      manifest({ type: 0, resourceID: RESOURCE_ID, clientID: CLIENT_ID, auxiliaryTenantIDs: null, clientPassword: null }),
    );
    expect(r.ok && r.value.spec.auxiliaryTenantIDs).toStrictEqual([]);
  });

  it("reports wrong field types with their path", () => {
    const r = parseAzureIdentity(manifest({ type: 0, resourceID: 42, clientID: CLIENT_ID, auxiliaryTenantIDs: ["a", 1] }));
    expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
      ["invalidFieldType", "spec.resourceID"],
      ["invalidFieldType", "spec.auxiliaryTenantIDs[1]"],
      ["missingResourceID", "spec.resourceID"],
    ]);
  });

  it("rejects non-objects, missing metadata and other kinds", () => {
    expect(reasons(null)).toStrictEqual(["notAnObject"]);
    expect(reasons([manifest({})])).toStrictEqual(["notAnObject"]);
    expect(reasons("AzureIdentity")).toStrictEqual(["notAnObject"]);
    expect(reasons({ spec: { resourceID: RESOURCE_ID, clientID: CLIENT_ID } })).toStrictEqual(["missingMetadata"]);
    expect(reasons({ ...manifest({ resourceID: RESOURCE_ID, clientID: CLIENT_ID }), kind: "AzureIdentityBinding" })).toStrictEqual([
      "wrongKind",
    ]);
  });

  it("uses the defaultNamespace option only when metadata.namespace is absent", () => {
    const spec = { resourceID: RESOURCE_ID, clientID: CLIENT_ID };
    const a = parseAzureIdentity(manifest(spec, { name: "x" }), { defaultNamespace: "team-a" });
    expect(a.ok && a.value.metadata.namespace).toBe("team-a");
    const b = parseAzureIdentity(manifest(spec, { name: "x", namespace: "team-b" }), { defaultNamespace: "team-a" });
    expect(b.ok && b.value.metadata.namespace).toBe("team-b");
  });
});

describe("parseAzureIdentity — federated identities (type 3, docs/adr/0021-federated-identities.md)", () => {
  const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const federated = (extra: Record<string, unknown> = {}) =>
    manifest({ type: 3, resourceID: RESOURCE_ID, clientID: CLIENT_ID, tenantID: TENANT, serviceAccounts: ["web", "batch.runner"], ...extra });

  it("parses a federated identity and names its type", () => {
    const r = parseAzureIdentity(federated());
    expect(r.ok && r.value.spec).toStrictEqual({
      type: IdentityType.Federated,
      resourceID: RESOURCE_ID,
      clientID: CLIENT_ID,
      tenantID: TENANT,
      auxiliaryTenantIDs: [],
      adEndpoint: "",
      adResourceID: "",
      serviceAccounts: ["web", "batch.runner"],
    });
    const quoted = parseAzureIdentity(federated({ type: "3" }));
    expect(quoted.ok && quoted.value.spec.type).toBe(3);
  });

  it("reads the legacy PascalCase spelling ServiceAccounts like the other legacy fields", () => {
    const legacy = parseAzureIdentity(
      manifest({ Type: 3, ResourceID: RESOURCE_ID, ClientID: CLIENT_ID, TenantID: TENANT, ServiceAccounts: ["web", "batch.runner"] }),
    );
    expect(legacy).toStrictEqual(parseAzureIdentity(federated()));
  });

  it("requires resourceID, clientID, tenantID and at least one service account, reporting all at once", () => {
    const r = parseAzureIdentity(manifest({ type: 3 }));
    expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
      ["missingClientID", "spec.clientID"],
      ["missingResourceID", "spec.resourceID"],
      ["federatedTenantMissing", "spec.tenantID"],
      ["federatedServiceAccountsMissing", "spec.serviceAccounts"],
    ]);
    expect(reasons(federated({ serviceAccounts: [] }))).toStrictEqual(["federatedServiceAccountsMissing"]);
    expect(reasons(federated({ serviceAccounts: null }))).toStrictEqual(["federatedServiceAccountsMissing"]);
  });

  it("requires resourceID to be a user-assigned identity id and says why it is needed", () => {
    const missing = parseAzureIdentity(federated({ resourceID: "" }));
    expect(missing.ok ? "" : missing.error.issues[0]?.message).toContain("federated identity credentials");
    const vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm0";
    expect(reasons(federated({ resourceID: vm }))).toStrictEqual(["malformedResourceID"]);
  });

  it("rejects invalid service-account names with their index, for any type", () => {
    const r = parseAzureIdentity(federated({ serviceAccounts: ["web", "Web", "a_b", "-x", "x".repeat(254), "", 7] }));
    expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
      ["invalidFieldType", "spec.serviceAccounts[6]"],
      ["invalidServiceAccountName", "spec.serviceAccounts[1]"],
      ["invalidServiceAccountName", "spec.serviceAccounts[2]"],
      ["invalidServiceAccountName", "spec.serviceAccounts[3]"],
      ["invalidServiceAccountName", "spec.serviceAccounts[4]"],
      ["invalidServiceAccountName", "spec.serviceAccounts[5]"],
    ]);
    expect(reasons(manifest({ type: 0, resourceID: RESOURCE_ID, clientID: CLIENT_ID, serviceAccounts: ["Bad"] }))).toStrictEqual([
      "invalidServiceAccountName",
    ]);
    expect(reasons(federated({ serviceAccounts: "web" }))).toStrictEqual(["invalidFieldType", "federatedServiceAccountsMissing"]);
  });

  it("serialises serviceAccounts only when non-empty, so type 0–2 objects keep the original's wire shape", () => {
    const t0 = parseAzureIdentity(manifest({ type: 0, resourceID: RESOURCE_ID, clientID: CLIENT_ID }));
    expect(t0.ok && Object.hasOwn(serialiseAzureIdentity(t0.value).spec, "serviceAccounts")).toBe(false);
    const t3 = parseAzureIdentity(federated());
    expect(t3.ok && serialiseAzureIdentity(t3.value).spec.serviceAccounts).toStrictEqual(["web", "batch.runner"]);
  });
});

describe("parseAzureIdentity — federated properties", () => {
  const labelArb = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/);
  const validNameArb = fc.array(labelArb, { minLength: 1, maxLength: 3 }).map((labels) => labels.join("."));
  const invalidNameArb = fc.oneof(
    fc.string({ maxLength: 12 }).filter((s) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s)),
    validNameArb.map((n) => n.toUpperCase()).filter((n) => /[A-Z]/.test(n)),
    fc.constant("a".repeat(254)),
  );

  it("round-trips every federated identity, camelCase and PascalCase", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [3] }), (m) => {
        const raw = serialiseAzureIdentity(m);
        expect(parseAzureIdentity(JSON.parse(JSON.stringify(raw)))).toStrictEqual({ ok: true, value: m });
        expect(parseAzureIdentity(toLegacyPascalCase(raw))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 100 },
    );
  });

  it("a list of valid names passes; one invalid name anywhere yields exactly invalidServiceAccountName at its index", () => {
    fc.assert(
      fc.property(
        azureIdentityArb({ types: [3] }),
        fc.array(validNameArb, { minLength: 1, maxLength: 4 }),
        invalidNameArb,
        fc.nat(),
        (m, names, bad, at) => {
          const raw = serialiseAzureIdentity(m);
          expect(parseAzureIdentity({ ...raw, spec: { ...raw.spec, serviceAccounts: names } }).ok).toBe(true);
          const index = at % (names.length + 1);
          const withBad = [...names.slice(0, index), bad, ...names.slice(index)];
          const r = parseAzureIdentity({ ...raw, spec: { ...raw.spec, serviceAccounts: withBad } });
          expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
            ["invalidServiceAccountName", `spec.serviceAccounts[${index}]`],
          ]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("removing a required federated field yields exactly its reason", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [3] }), (m) => {
        const raw = serialiseAzureIdentity(m);
        const required: [string, ValidationReason][] = [
          ["resourceID", "missingResourceID"],
          ["clientID", "missingClientID"],
          ["tenantID", "federatedTenantMissing"],
          ["serviceAccounts", "federatedServiceAccountsMissing"],
        ];
        for (const [field, reason] of required) {
          const spec: Record<string, unknown> = { ...raw.spec };
          delete spec[field];
          expect(reasons({ ...raw, spec })).toStrictEqual([reason]);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("parseAzureIdentity — properties", () => {
  it("parse(serialise(m)) is m for every valid identity, also after a JSON round trip", () => {
    fc.assert(
      fc.property(azureIdentityArb({ types: [0, 1, 2, 3] }), (m) => {
        expect(parseAzureIdentity(serialiseAzureIdentity(m))).toStrictEqual({ ok: true, value: m });
        expect(parseAzureIdentity(JSON.parse(JSON.stringify(serialiseAzureIdentity(m))))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 150 },
    );
  });

  it("the legacy PascalCase variant parses to the same model", () => {
    fc.assert(
      fc.property(azureIdentityArb(), (m) => {
        const raw = serialiseAzureIdentity(m);
        expect(parseAzureIdentity(toLegacyPascalCase(raw))).toStrictEqual(parseAzureIdentity(raw));
      }),
      { numRuns: 100 },
    );
  });

  it("removing a required field yields exactly its reason", () => {
    fc.assert(
      fc.property(azureIdentityArb(), (m) => {
        const raw = serialiseAzureIdentity(m);
        const required: [string, ValidationReason][] =
          m.spec.type === 0
            ? [["resourceID", "missingResourceID"], ["clientID", "missingClientID"]]
            : [["clientID", "missingClientID"], ["tenantID", "missingTenantID"], ["clientPassword", "missingSecretRef"]];
        for (const [field, reason] of required) {
          const spec: Record<string, unknown> = { ...raw.spec };
          delete spec[field];
          expect(reasons({ ...raw, spec })).toStrictEqual([reason]);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("never throws on arbitrary JSON and always explains a rejection", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ metadata: fc.jsonValue(), spec: fc.jsonValue() })), (raw) => {
        const r = parseAzureIdentity(raw);
        if (!r.ok) expect(r.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
