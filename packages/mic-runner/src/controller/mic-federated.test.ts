import { describe, expect, it } from "vitest";
import {
  federatedCredentialName,
  FEDERATED_TOKEN_AUDIENCE,
  serviceAccountSubject,
  type AzureIdentity,
  type FederatedCredential,
  type NodeView,
  type PodView,
} from "@podid/core";
import {
  FakeCluster,
  FakeCompute,
  FakeFederatedCredentialPort,
  FakeIdentityCatalog,
  makeBinding,
  makeIdentity,
  makePod,
  RecordingEventRecorder,
  RecordingLogger,
  RecordingMetrics,
  TEST_NODE,
  VirtualClock,
} from "@podid/testkit";
import { MIC_COUNTER } from "../observability/mic-metrics.js";
import { MicController } from "./mic-controller.js";

const ISSUER = "https://issuer.cluster.test";
const armId = (name: string) => `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const NODE: NodeView = {
  kind: "Node",
  metadata: { name: TEST_NODE, namespace: "", labels: {}, annotations: {}, finalizers: [] },
  providerID: "azure:///subscriptions/s/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0",
};

/** A type-3 AzureIdentity whose user-assigned identity exists in `catalog` (federated credentials need their parent). */
function federatedIdentity(catalog: FakeIdentityCatalog, name: string, serviceAccounts: readonly string[]): AzureIdentity {
  catalog.register(armId(name));
  const base = makeIdentity({ name, namespace: "team-a" });
  return { ...base, spec: { ...base.spec, type: 3, resourceID: armId(name), tenantID: "t", serviceAccounts } };
}
const podAs = (name: string, serviceAccountName: string, selector: string, ip: string): PodView => ({
  ...makePod({ name, namespace: "team-a", ip, selector }),
  serviceAccountName,
});

function world(options: { issuer?: string | undefined } = {}) {
  const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
  const cluster = new FakeCluster({ clock });
  const compute = new FakeCompute({ clock, patchLatencyMs: 40_000, getLatencyMs: 200 });
  // Entra ID's rules over testkit's store: a list takes 100 ms, a write 1 s (the last 900 ms holding the identity, 409 to overlaps).
  const catalog = new FakeIdentityCatalog({ clock, federated: { writeLatencyMs: 900 } });
  const credentials = new FakeFederatedCredentialPort(catalog.federatedCredentials, { clock, latencyMs: 100 });
  const writes = () => credentials.calls.filter((c) => c.op !== "list");
  const events = new RecordingEventRecorder();
  const metrics = new RecordingMetrics();
  const issuer = "issuer" in options ? options.issuer : ISSUER;
  let issuerLookups = 0;
  const controller = new MicController(
    {
      reader: cluster,
      writer: cluster,
      compute,
      clock,
      logger: new RecordingLogger({ clock }),
      events,
      metrics,
      isLeader: () => true,
      credentials,
      serviceAccountIssuer: async () => (issuerLookups++, issuer),
    },
    { batchWindowMs: 1_000 },
  );
  cluster.apply("nodes", NODE);
  const aais = () => cluster.list("azureassignedidentities");
  const runUntil = async (done: () => boolean, maxMs: number, stepMs = 500): Promise<number> => {
    const start = clock.now();
    while (!done() && clock.now() - start < maxMs) await clock.advanceAsync(stepMs);
    return clock.now() - start;
  };
  return { clock, cluster, compute, catalog, credentials, writes, events, metrics, controller, aais, runUntil, issuerLookups: () => issuerLookups };
}

describe("MicController — federated identities (docs/adr/0021-federated-identities.md)", () => {
  it("assigns trusted pods through one credential per service account, with no VM/VMSS call, and warns about untrusted pods", async () => {
    const w = world();
    const identity = federatedIdentity(w.catalog, "fed", ["web", "batch"]);
    w.cluster.apply("azureidentities", identity);
    w.cluster.apply("azureidentitybindings", makeBinding(identity, "fed"));
    w.controller.start();
    for (let i = 0; i < 30; i++) w.cluster.apply("pods", podAs(`web-${i}`, i % 2 === 0 ? "web" : "batch", "fed", `10.0.1.${i + 1}`));
    for (let i = 0; i < 3; i++) w.cluster.apply("pods", podAs(`intruder-${i}`, "intruder", "fed", `10.0.2.${i + 1}`));
    await w.runUntil(() => w.aais().length === 30 && w.aais().every((a) => a.status === "Assigned"), 120_000);
    expect(w.aais()).toHaveLength(30);
    expect(w.aais().every((a) => a.status === "Assigned")).toBe(true);
    expect(w.compute.counts()).toMatchObject({ gets: 0, patches: 0 });
    expect(w.credentials.held(armId("fed")).map((c) => [c.subject, c.issuer, c.audiences, c.name])).toStrictEqual(
      ["web", "batch"]
        .map((sa) => serviceAccountSubject("team-a", sa))
        .sort()
        .map((subject) => [subject, ISSUER, [FEDERATED_TOKEN_AUDIENCE], federatedCredentialName(ISSUER, subject)]),
    );
    expect(w.credentials.counts()).toMatchObject({ peakInFlightPerIdentity: 1, conflicts: 0 });
    const untrusted = w.events.find({ reason: "FederatedServiceAccountNotTrusted" });
    expect(untrusted.map((e) => `${e.object.kind}/${e.object.name}`).sort()).toStrictEqual(["Pod/intruder-0", "Pod/intruder-1", "Pod/intruder-2"]);
    expect(untrusted[0]?.type).toBe("Warning");
    expect(w.metrics.counter(MIC_COUNTER.federatedCredentialWrites, { operation_type: "fic_create" })).toBe(2);
    // Quiet afterwards: more passes write nothing more, and the issuer was looked up once.
    await w.clock.advanceAsync(30_000);
    expect(w.writes()).toHaveLength(2);
    expect(w.events.find({ reason: "FederatedServiceAccountNotTrusted" })).toHaveLength(3);
    expect(w.issuerLookups()).toBe(1);
    w.controller.stop();
  });

  it("never has two credential writes in flight per identity when many identities and service accounts arrive at once", async () => {
    const w = world();
    const accounts = ["a", "b", "c", "d", "e", "f"];
    const identities = ["one", "two", "three"].map((name) => federatedIdentity(w.catalog, name, accounts));
    for (const identity of identities) {
      w.cluster.apply("azureidentities", identity);
      w.cluster.apply("azureidentitybindings", makeBinding(identity, identity.metadata.name));
    }
    w.controller.start();
    let ip = 1;
    for (const identity of identities) {
      for (const sa of accounts) for (let i = 0; i < 3; i++) w.cluster.apply("pods", podAs(`${identity.metadata.name}-${sa}-${i}`, sa, identity.metadata.name, `10.1.${Math.floor(ip / 250)}.${ip++ % 250}`));
    }
    await w.runUntil(() => w.aais().length === 54 && w.aais().every((a) => a.status === "Assigned"), 300_000);
    expect(w.aais().filter((a) => a.status === "Assigned")).toHaveLength(54);
    expect(w.writes()).toHaveLength(18);
    expect(w.credentials.counts()).toMatchObject({ peakInFlightPerIdentity: 1, conflicts: 0 });
    expect(w.compute.counts()).toMatchObject({ gets: 0, patches: 0 });
    w.controller.stop();
  });

  it("refuses the 21st credential: the object stays Created with one FederatedCredentialLimit Warning on it", async () => {
    const w = world();
    const identity = federatedIdentity(w.catalog, "full", ["web"]);
    for (let i = 0; i < 20; i++) {
      w.catalog.federatedCredentials.add(armId("full"), `hand-made-${i}`, { issuer: ISSUER, subject: serviceAccountSubject("elsewhere", `sa-${i}`), audiences: [FEDERATED_TOKEN_AUDIENCE] });
    }
    w.cluster.apply("azureidentities", identity);
    w.cluster.apply("azureidentitybindings", makeBinding(identity, "full"));
    w.controller.start();
    w.cluster.apply("pods", podAs("web-0", "web", "full", "10.0.3.1"));
    await w.runUntil(() => w.events.find({ reason: "FederatedCredentialLimit" }).length > 0, 60_000);
    await w.clock.advanceAsync(30_000);
    expect(w.aais().map((a) => a.status)).toStrictEqual(["Created"]);
    const limit = w.events.find({ reason: "FederatedCredentialLimit" });
    expect(limit).toHaveLength(1);
    expect(limit[0]?.object).toMatchObject({ kind: "AzureAssignedIdentity", name: w.aais()[0]?.metadata.name });
    expect(w.writes()).toStrictEqual([]);
    expect(w.credentials.held(armId("full"))).toHaveLength(20);
    w.controller.stop();
  });

  it("deletes the objects of departed pods without a VM/VMSS call, and then only its own unneeded credentials", async () => {
    const w = world();
    const identity = federatedIdentity(w.catalog, "fed", ["web", "api"]);
    const foreign: FederatedCredential = { name: "made-by-hand", issuer: ISSUER, subject: serviceAccountSubject("team-z", "x"), audiences: [FEDERATED_TOKEN_AUDIENCE] };
    w.catalog.federatedCredentials.add(armId("fed"), foreign.name, foreign);
    w.cluster.apply("azureidentities", identity);
    w.cluster.apply("azureidentitybindings", makeBinding(identity, "fed"));
    w.controller.start();
    w.cluster.apply("pods", podAs("web-0", "web", "fed", "10.0.4.1"));
    w.cluster.apply("pods", podAs("api-0", "api", "fed", "10.0.4.2"));
    await w.runUntil(() => w.aais().length === 2 && w.aais().every((a) => a.status === "Assigned"), 60_000);
    expect(w.credentials.held(armId("fed"))).toHaveLength(3);
    w.cluster.remove("pods", "team-a", "api-0");
    await w.runUntil(() => w.aais().length === 1 && w.credentials.held(armId("fed")).length === 2, 60_000);
    expect(w.aais().map((a) => a.spec.pod)).toStrictEqual(["web-0"]);
    expect(w.credentials.held(armId("fed")).map((c) => c.name).sort()).toStrictEqual([federatedCredentialName(ISSUER, serviceAccountSubject("team-a", "web")), "made-by-hand"].sort());
    expect(w.compute.counts()).toMatchObject({ gets: 0, patches: 0 });
    w.controller.stop();
  });

  it("retries the clean-up of a credential whose delete failed after its last object went", async () => {
    const w = world();
    const identity = federatedIdentity(w.catalog, "fed", ["web"]);
    w.cluster.apply("azureidentities", identity);
    w.cluster.apply("azureidentitybindings", makeBinding(identity, "fed"));
    w.controller.start();
    w.cluster.apply("pods", podAs("web-0", "web", "fed", "10.0.6.1"));
    await w.runUntil(() => w.aais().length === 1 && w.aais()[0]?.status === "Assigned", 60_000);
    w.credentials.failNext(1, { kind: "failed", status: 403, message: "AuthorizationFailed" }, ["delete"]);
    w.cluster.remove("pods", "team-a", "web-0");
    await w.runUntil(() => w.aais().length === 0 && w.credentials.held(armId("fed")).length === 0, 60_000);
    expect(w.aais()).toStrictEqual([]);
    expect(w.credentials.held(armId("fed"))).toStrictEqual([]);
    expect(w.writes().filter((c) => c.op === "delete")).toHaveLength(2);
    w.controller.stop();
  });

  it("backs off an identity whose writes keep failing, and leaves its object Created with the reason", async () => {
    const w = world();
    w.credentials.failNext(Number.POSITIVE_INFINITY, { kind: "failed", status: 403, message: "AuthorizationFailed: no federatedIdentityCredentials/write" }, ["create"]);
    const identity = federatedIdentity(w.catalog, "fed", ["web"]);
    w.cluster.apply("azureidentities", identity);
    w.cluster.apply("azureidentitybindings", makeBinding(identity, "fed"));
    w.controller.start();
    w.cluster.apply("pods", podAs("web-0", "web", "fed", "10.0.7.1"));
    await w.clock.advanceAsync(0);
    for (let i = 0; i < 120; i++) await w.clock.advanceAsync(500);
    // 60 s with a 5 s backoff doubling: attempts at about 0, 5, 15, 35 s — not one per batch window.
    const attempts = w.writes().filter((c) => c.op === "create").length;
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(w.aais().map((a) => a.status)).toStrictEqual(["Created"]);
    expect(w.events.find({ reason: "binding apply error" })[0]?.message).toContain("AuthorizationFailed");
    w.controller.stop();
  });

  it("without an issuer writes no credential: objects stay Created with one Event saying why", async () => {
    const w = world({ issuer: undefined });
    const identity = federatedIdentity(w.catalog, "fed", ["web"]);
    w.cluster.apply("azureidentities", identity);
    w.cluster.apply("azureidentitybindings", makeBinding(identity, "fed"));
    w.controller.start();
    w.cluster.apply("pods", podAs("web-0", "web", "fed", "10.0.5.1"));
    await w.runUntil(() => w.events.find({ reason: "FederatedIssuerUnknown" }).length > 0, 30_000);
    await w.clock.advanceAsync(30_000);
    expect(w.aais().map((a) => a.status)).toStrictEqual(["Created"]);
    const why = w.events.find({ reason: "FederatedIssuerUnknown" });
    expect(why).toHaveLength(1);
    expect(why[0]?.message).toContain("--service-account-issuer");
    expect(w.writes()).toStrictEqual([]);
    w.controller.stop();
  });
});
