import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { azureAssignedIdentityArb, toLegacyPascalCase } from "@podid/testkit";
import { parseAzureAssignedIdentity } from "./parse-azure-assigned-identity.js";
import { serialiseAzureAssignedIdentity } from "./serialise-azure-assigned-identity.js";
import type { AzureAssignedIdentity } from "./types.js";

const RESOURCE_ID =
  "/subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web";

/** An AAI as the original MIC (v1.8) writes it. */
function micWritten(): Record<string, unknown> {
  return {
    apiVersion: "aadpodidentity.k8s.io/v1",
    kind: "AzureAssignedIdentity",
    metadata: {
      name: "web-7d9-team-a-web-id",
      namespace: "default",
      resourceVersion: "1234",
      labels: { nodename: "aks-nodepool1-12345678-vmss000000" },
      finalizers: ["azureassignedidentity.finalizers.aadpodidentity.k8s.io"],
    },
    spec: {
      azureIdentityRef: {
        metadata: { name: "web-id", namespace: "team-a", resourceVersion: "11" },
        spec: { type: 0, resourceID: RESOURCE_ID, clientID: "cid", clientPassword: {}, auxiliaryTenantIDs: null },
        status: { metadata: {}, availableReplicas: 0 },
      },
      azureBindingRef: {
        metadata: { name: "web-binding", namespace: "team-a" },
        spec: { azureIdentity: "web-id", selector: "web", weight: 0 },
      },
      metadata: {},
      pod: "web-7d9",
      podNamespace: "team-a",
      nodename: "aks-nodepool1-12345678-vmss000000",
    },
    status: { metadata: {}, status: "Assigned", availableReplicas: 1 },
  };
}

/** The same object as a pre-1.6 MIC wrote it: PascalCase spec fields, no status yet. */
function legacyWritten(): Record<string, unknown> {
  return {
    metadata: { name: "web-7d9-team-a-web-id", namespace: "default" },
    spec: {
      AzureIdentityRef: {
        metadata: { name: "web-id", namespace: "team-a" },
        spec: { Type: 0, ResourceID: RESOURCE_ID, ClientID: "cid" },
      },
      AzureBindingRef: { metadata: { name: "web-binding", namespace: "team-a" }, spec: { AzureIdentity: "web-id", Selector: "web" } },
      Pod: "web-7d9",
      PodNamespace: "team-a",
      NodeName: "aks-nodepool1-12345678-vmss000000",
    },
  };
}

function issuesOf(raw: unknown): [string, string, string | undefined][] {
  const r = parseAzureAssignedIdentity(raw);
  return r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field, i.nestedReason]);
}

describe("parseAzureAssignedIdentity — examples", () => {
  it("reads what the original MIC writes", () => {
    const r = parseAzureAssignedIdentity(micWritten());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.status).toBe("Assigned");
    expect(r.value.metadata.labels).toStrictEqual({ nodename: "aks-nodepool1-12345678-vmss000000" });
    expect(r.value.spec).toMatchObject({ pod: "web-7d9", podNamespace: "team-a", nodeName: "aks-nodepool1-12345678-vmss000000" });
    expect(r.value.spec.azureIdentityRef.spec.resourceID).toBe(RESOURCE_ID);
    expect(r.value.spec.azureIdentityRef.metadata.resourceVersion).toBe("11");
    expect(r.value.spec.azureBindingRef.spec).toStrictEqual({ azureIdentity: "web-id", selector: "web", weight: 0 });
  });

  it("reads a pre-1.6 object (PascalCase, no status) with status \"\"", () => {
    const r = parseAzureAssignedIdentity(legacyWritten());
    expect(r.ok && r.value.status).toBe("");
    const current = parseAzureAssignedIdentity(micWritten());
    expect(r.ok && current.ok && r.value.spec.azureIdentityRef.spec).toStrictEqual(current.ok && current.value.spec.azureIdentityRef.spec);
  });

  it("accepts status \"\" and rejects unknown statuses", () => {
    const empty = micWritten();
    empty["status"] = { status: "" };
    expect(parseAzureAssignedIdentity(empty).ok).toBe(true);
    const bad = micWritten();
    bad["status"] = { status: "assigned" };
    expect(issuesOf(bad)).toStrictEqual([["invalidStatus", "status.status", undefined]]);
  });

  it("reports invalid embedded objects with the inner reason and path", () => {
    const raw = micWritten();
    const spec = raw["spec"] as Record<string, Record<string, Record<string, unknown>>>;
    delete spec["azureIdentityRef"]?.["spec"]?.["resourceID"];
    delete spec["azureBindingRef"]?.["spec"]?.["selector"];
    expect(issuesOf(raw)).toStrictEqual([
      ["invalidEmbeddedIdentity", "spec.azureIdentityRef.spec.resourceID", "missingResourceID"],
      ["invalidEmbeddedBinding", "spec.azureBindingRef.spec.selector", "missingSelector"],
    ]);
  });

  it("reports every missing spec field at once", () => {
    expect(issuesOf({ metadata: { name: "x", namespace: "default" }, spec: {} })).toStrictEqual([
      ["missingPod", "spec.pod", undefined],
      ["missingPodNamespace", "spec.podNamespace", undefined],
      ["missingNodeName", "spec.nodename", undefined],
      ["invalidEmbeddedIdentity", "spec.azureIdentityRef", undefined],
      ["invalidEmbeddedBinding", "spec.azureBindingRef", undefined],
    ]);
  });

  it("fills a missing embedded namespace from the other embedded object, then from podNamespace", () => {
    const raw = micWritten();
    const spec = raw["spec"] as Record<string, Record<string, Record<string, unknown>>>;
    delete spec["azureIdentityRef"]?.["metadata"]?.["namespace"];
    const r1 = parseAzureAssignedIdentity(raw);
    expect(r1.ok && r1.value.spec.azureIdentityRef.metadata.namespace).toBe("team-a");
    if (spec["azureBindingRef"]?.["metadata"]) spec["azureBindingRef"]["metadata"]["namespace"] = "team-b";
    const r2 = parseAzureAssignedIdentity(raw);
    expect(r2.ok && r2.value.spec.azureIdentityRef.metadata.namespace).toBe("team-b");
    delete spec["azureBindingRef"]?.["metadata"]?.["namespace"];
    (raw["spec"] as Record<string, unknown>)["podNamespace"] = "pods-ns";
    const r3 = parseAzureAssignedIdentity(raw);
    expect(r3.ok && [r3.value.spec.azureIdentityRef.metadata.namespace, r3.value.spec.azureBindingRef.metadata.namespace]).toStrictEqual([
      "pods-ns",
      "pods-ns",
    ]);
  });
});

describe("serialiseAzureAssignedIdentity", () => {
  it("writes the original's wire format", () => {
    const parsed = parseAzureAssignedIdentity(micWritten());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const m: AzureAssignedIdentity = parsed.value;
    expect(serialiseAzureAssignedIdentity(m)).toStrictEqual({
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureAssignedIdentity",
      metadata: {
        name: "web-7d9-team-a-web-id",
        namespace: "default",
        resourceVersion: "1234",
        labels: { nodename: "aks-nodepool1-12345678-vmss000000" },
        finalizers: ["azureassignedidentity.finalizers.aadpodidentity.k8s.io"],
      },
      spec: {
        azureIdentityRef: {
          apiVersion: "aadpodidentity.k8s.io/v1",
          kind: "AzureIdentity",
          metadata: { name: "web-id", namespace: "team-a", resourceVersion: "11" },
          spec: {
            type: 0,
            resourceID: RESOURCE_ID,
            clientID: "cid",
            clientPassword: {},
            tenantID: "",
            auxiliaryTenantIDs: [],
            adEndpoint: "",
            adResourceID: "",
          },
        },
        azureBindingRef: {
          apiVersion: "aadpodidentity.k8s.io/v1",
          kind: "AzureIdentityBinding",
          metadata: { name: "web-binding", namespace: "team-a" },
          spec: { azureIdentity: "web-id", selector: "web", weight: 0 },
        },
        pod: "web-7d9",
        podNamespace: "team-a",
        nodename: "aks-nodepool1-12345678-vmss000000",
      },
      status: { status: "Assigned", availableReplicas: 1 },
    });
  });
});

describe("parseAzureAssignedIdentity — properties", () => {
  it("parse(serialise(m)) is m, also through JSON, and the legacy variant parses the same", () => {
    fc.assert(
      fc.property(azureAssignedIdentityArb(), (m) => {
        const raw = serialiseAzureAssignedIdentity(m);
        expect(parseAzureAssignedIdentity(raw)).toStrictEqual({ ok: true, value: m });
        expect(parseAzureAssignedIdentity(JSON.parse(JSON.stringify(raw)))).toStrictEqual({ ok: true, value: m });
        expect(parseAzureAssignedIdentity(toLegacyPascalCase(raw))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 100 },
    );
  });

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            metadata: fc.jsonValue(),
            spec: fc.oneof(fc.jsonValue(), fc.record({ azureIdentityRef: fc.jsonValue(), azureBindingRef: fc.jsonValue() })),
            status: fc.jsonValue(),
          }),
        ),
        (raw) => {
          const r = parseAzureAssignedIdentity(raw);
          if (!r.ok) expect(r.error.issues.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
