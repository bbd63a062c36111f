/**
 * deploy/crds.yaml: four structurally sound apiextensions.k8s.io/v1 CRDs of aad-pod-identity's group, and
 * objects applied through the fake keep their legacy PascalCase fields (no pruning, as
 * `x-kubernetes-preserve-unknown-fields` promises on a real server).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crdResourceDefinitions } from "./crd-resources.js";
import { FakeKubeApiServer } from "./fake-kube-apiserver.js";
import type { KubeObject } from "./json.js";

const TEXT = readFileSync(fileURLToPath(new URL("../../../../deploy/crds.yaml", import.meta.url)), "utf8");
const DOCS = parseAllDocuments(TEXT);

describe("deploy/crds.yaml", () => {
  it("holds four valid CRDs that parse with the yaml package", () => {
    expect(DOCS.every((d) => d.errors.length === 0)).toBe(true);
    const crds = DOCS.map((d) => d.toJSON() as KubeObject);
    expect(crds.map((c) => c.metadata["name"])).toEqual([
      "azureidentities.aadpodidentity.k8s.io",
      "azureidentitybindings.aadpodidentity.k8s.io",
      "azureassignedidentities.aadpodidentity.k8s.io",
      "azurepodidentityexceptions.aadpodidentity.k8s.io",
    ]);
    for (const crd of crds) {
      expect(crd["apiVersion"]).toBe("apiextensions.k8s.io/v1");
      expect(crd["kind"]).toBe("CustomResourceDefinition");
      const defs = crdResourceDefinitions(crd);
      expect(defs).toHaveLength(1);
      expect(defs[0]).toMatchObject({ group: "aadpodidentity.k8s.io", version: "v1", namespaced: true, shortNames: [], statusSubresource: false });
      const version = (crd["spec"] as { versions: { served: boolean; storage: boolean; schema: { openAPIV3Schema: { properties: Record<string, Record<string, unknown>> } } }[] }).versions[0];
      expect(version?.served && version.storage).toBe(true);
      const props = version?.schema.openAPIV3Schema.properties ?? {};
      expect(props["spec"]?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
      expect(props["status"]?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
      expect(crd.metadata["annotations"]).toHaveProperty(["api-approved.kubernetes.io"]);
    }
    const columns = (i: number): string[] => (crdResourceDefinitions(crds[i] as KubeObject)[0]?.printerColumns ?? []).map((c) => c.name);
    expect(columns(0)).toEqual(["Type", "ClientID", "Age"]);
    expect(columns(1)).toEqual(["AzureIdentity", "Selector", "Age"]);
    expect(columns(2)).toEqual(["Pod", "PodNamespace", "Node", "Status", "Age"]);
  });
});

describe("applied to the fake", () => {
  let server: FakeKubeApiServer;
  // The server's clock moves on by a second per reading, so re-applying never lands in the same second.
  let clockMs = Date.parse("2026-01-01T00:00:00Z");
  beforeAll(async () => {
    server = await FakeKubeApiServer.start({ now: () => new Date((clockMs += 1_000)) });
  });
  afterAll(async () => {
    await server.close();
  });

  it("serves the four kinds and keeps legacy PascalCase and camelCase fields over HTTP", async () => {
    expect(server.applyManifests(TEXT).map((a) => a.action)).toEqual(["created", "created", "created", "created"]);
    const groupDoc = (await (await fetch(`${server.url}/apis/aadpodidentity.k8s.io/v1`)).json()) as { resources: { name: string; kind: string; namespaced: boolean }[] };
    expect(groupDoc.resources.map((r) => r.name).sort()).toEqual(["azureassignedidentities", "azureidentities", "azureidentitybindings", "azurepodidentityexceptions"]);
    const legacy = {
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureIdentity",
      metadata: { name: "legacy" },
      spec: { Type: 1, ClientID: "cid", TenantID: "tid", ClientPassword: { Name: "s", Namespace: "default" }, clientID: "camel" },
      status: { AvailableReplicas: 1 },
    };
    const created = await fetch(`${server.url}/apis/aadpodidentity.k8s.io/v1/namespaces/default/azureidentities`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(legacy),
    });
    expect(created.status).toBe(201);
    const read = (await (await fetch(`${server.url}/apis/aadpodidentity.k8s.io/v1/namespaces/default/azureidentities/legacy`)).json()) as { spec: unknown; status: unknown };
    expect(read.spec).toEqual(legacy.spec);
    expect(read.status).toEqual(legacy.status);
    const binding = server.store.upsert({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name: "b" }, spec: { AzureIdentity: "legacy", Selector: "sel" } });
    expect(binding["spec"]).toEqual({ AzureIdentity: "legacy", Selector: "sel" });
    expect(server.applyManifests(TEXT).map((a) => a.action)).toEqual(["unchanged", "unchanged", "unchanged", "unchanged"]);
  });
});
