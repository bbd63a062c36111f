import { describe, expect, it } from "vitest";
import { federatedCredentialName, FEDERATED_TOKEN_AUDIENCE, serviceAccountSubject } from "@podid/core";
import { identityResourceId, TENANT, until, type SystemWorld } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * Federated identities (type 3, docs/adr/0021-federated-identities.md) end to end over real HTTP: MIC composed
 * from its flags reads the service-account issuer from the fake kube-apiserver's discovery document, writes
 * federated identity credentials through the real `@azure/arm-msi` client to the fake ARM (which answers 409 to
 * overlapping writes under one identity, like Entra ID), and marks the AzureAssignedIdentities Assigned — with
 * no VM or scale-set call at all.
 */

const worlds = worldPerTest();

/** A type-3 AzureIdentity for a catalog identity `name` trusting `serviceAccounts` of `default`. */
function federatedIdentity(w: SystemWorld, name: string, serviceAccounts: readonly string[]): string {
  const record = w.catalog.lookup(identityResourceId(name)) ?? w.catalog.register(identityResourceId(name));
  w.kube.store.upsert({
    apiVersion: "aadpodidentity.k8s.io/v1",
    kind: "AzureIdentity",
    metadata: { name, namespace: "default" },
    spec: { type: 3, resourceID: record.id, clientID: record.clientId, tenantID: TENANT, serviceAccounts: [...serviceAccounts] },
  });
  return record.id;
}

/** A running pod of service account `serviceAccount` labelled for `selector`. */
function podAs(w: SystemWorld, name: string, selector: string, serviceAccount: string, node: string): void {
  const ip = `10.245.${(w.kube.store.revision >> 8) & 255}.${w.kube.store.revision & 255}`;
  w.kube.store.upsert({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { aadpodidbinding: selector } },
    spec: { nodeName: node, serviceAccountName: serviceAccount, containers: [{ name: "app", image: "busybox" }] },
    status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
  });
}

const computeCalls = (w: SystemWorld) => w.arm.requestLog.filter((r) => ["vmGet", "vmPatch", "vmssGet", "vmssPatch"].includes(r.operation)).length;

describe("MIC system: federated identities (docs/adr/0021-federated-identities.md)", { timeout: 40_000 }, () => {
  it("assigns a type-3 pod through one federated credential per service account, with 0 VM/VMSS calls and writes one at a time", async () => {
    const { w } = await worlds.startLed();
    // Slow writes so that overlapping ones would be caught (the fake answers 409 and records the overlap).
    w.catalog.federatedCredentials.setWriteLatency(100);
    const accounts = ["web", "api", "batch", "worker", "cron"];
    const id = federatedIdentity(w, "fed-app", accounts);
    w.binding("fed-binding", "fed-app", "fed");
    accounts.forEach((sa, i) => {
      podAs(w, `${sa}-0`, "fed", sa, w.nodes[i % w.nodes.length] ?? "");
      podAs(w, `${sa}-1`, "fed", sa, w.nodes[(i + 1) % w.nodes.length] ?? "");
    });
    podAs(w, "intruder-0", "fed", "intruder", w.nodes[0] ?? "");

    await until("10 Assigned AzureAssignedIdentities", () => w.assigned().filter((a) => a.status === "Assigned").length === 10, 20_000);
    expect(w.assigned()).toHaveLength(10);
    expect(w.assigned().some((a) => a.spec.pod === "intruder-0")).toBe(false);

    const listed = w.catalog.federatedCredentials.list(id);
    const issuer = w.kube.serviceAccountIssuer;
    expect(listed.ok && listed.value.map((c) => [c.name, c.issuer, c.subject, c.audiences]).sort()).toEqual(
      accounts
        .map((sa) => serviceAccountSubject("default", sa))
        .map((subject) => [federatedCredentialName(issuer, subject), issuer, subject, [FEDERATED_TOKEN_AUDIENCE]])
        .sort(),
    );
    expect(w.catalog.federatedCredentials.counts()).toMatchObject({ creates: 5, peakConcurrentWrites: 1 });
    expect(computeCalls(w)).toBe(0);
    expect(w.compute.counts().patches).toBe(0);
    await until("untrusted Event", () => w.events("intruder-0").some((e) => e["reason"] === "FederatedServiceAccountNotTrusted"));

    // Pods of one service account leave: their credential is deleted (it is podid's own), the rest stay.
    w.deletePod("cron-0");
    w.deletePod("cron-1");
    await until("cron credential deleted", () => {
      const now = w.catalog.federatedCredentials.list(id);
      return now.ok && now.value.length === 4 && w.assigned().length === 8;
    });
    expect(computeCalls(w)).toBe(0);
  });

  it("refuses the 21st credential: the object stays Created with a FederatedCredentialLimit Event, and nothing is written", async () => {
    const { w } = await worlds.startLed();
    const id = federatedIdentity(w, "fed-full", ["web"]);
    for (let i = 0; i < 20; i++) {
      w.catalog.federatedCredentials.add(id, `hand-made-${i}`, { issuer: "https://elsewhere.example", subject: `s-${i}`, audiences: [FEDERATED_TOKEN_AUDIENCE] });
    }
    w.catalog.federatedCredentials.resetCounters();
    w.binding("full-binding", "fed-full", "full");
    podAs(w, "web-0", "full", "web", w.nodes[0] ?? "");
    await until("a Created AzureAssignedIdentity", () => w.assigned().length === 1);
    const name = w.assigned()[0]?.metadata.name ?? "";
    await until("FederatedCredentialLimit Event", () => w.events(name).some((e) => e["reason"] === "FederatedCredentialLimit"), 15_000);
    expect(w.assigned()[0]?.status).toBe("Created");
    expect(w.catalog.federatedCredentials.counts()).toMatchObject({ creates: 0 });
    expect(computeCalls(w)).toBe(0);
  });
});
