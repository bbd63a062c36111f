import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { V1Pod } from "@kubernetes/client-node";
import { ensureBuilt } from "../nmi-e2e/e2e-node.js";
import { EXCHANGE_AUDIENCE, NODE, startFederatedWorld, TENANT, until, userAssignedIdentity, type FederatedWorld } from "./federated-world.js";
import { appGetsToken, claimsOf, curlToken, type AppOutcome } from "./loopback-pod-clients.js";

/**
 * Federated identities (type 3, docs/adr/0021-federated-identities.md) with the shipped `podid-mic` and
 * `podid-nmi` as processes, the simulated kubelet projecting pods' service-account tokens, fake ARM holding the
 * federated identity credentials (FICs) and fake AAD checking each exchanged token against the kube-apiserver's
 * OIDC discovery and keys. Proves: an unmodified app (and curl) gets a token naming the identity with 0 VM/VMSS
 * PATCHes; another service account under the same label, or a pod without the projected token, gets 403; a FIC
 * still propagating (AADSTS70021) is retried by NMI; many service accounts at once are written one at a time per
 * identity and the 21st is refused with an Event; the first token after Running is measured and printed.
 */

const APP = userAssignedIdentity("fed-app", 0);
const FULL = userAssignedIdentity("fed-full", 1);
const NS = "default";
const subject = (sa: string) => `system:serviceaccount:${NS}:${sa}`;

let world: FederatedWorld;

const objectsApi = () => world.cluster.kubeApiServer.store;

function azureIdentity(name: string, identity: { id: string; clientId: string }, serviceAccounts: readonly string[]): void {
  objectsApi().upsert({
    apiVersion: "aadpodidentity.k8s.io/v1",
    kind: "AzureIdentity",
    metadata: { name, namespace: NS },
    // adEndpoint: NMI reaches this cloud's Entra ID (the fake AAD) at the identity's authority host.
    spec: { type: 3, resourceID: identity.id, clientID: identity.clientId, tenantID: TENANT, serviceAccounts: [...serviceAccounts], adEndpoint: world.azure.aad.url },
  });
}

function binding(name: string, identity: string, selector: string): void {
  objectsApi().upsert({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name, namespace: NS }, spec: { azureIdentity: identity, selector } });
}

async function serviceAccount(name: string): Promise<void> {
  await world.core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name, namespace: NS } } });
}

/** A pod on the node, labelled for `selector`, running as `sa`, with (by default) the projected token Entra ID exchanges. */
async function pod(name: string, sa: string, selector: string, projectedToken = true): Promise<void> {
  const body: V1Pod = {
    metadata: { name, namespace: NS, labels: { aadpodidbinding: selector } },
    spec: {
      nodeName: NODE,
      serviceAccountName: sa,
      containers: [{ name: "app", image: "mcr.microsoft.com/azure-cli", command: ["sleep", "infinity"] }],
      volumes: projectedToken ? [{ name: "azure-federated-token", projected: { sources: [{ serviceAccountToken: { audience: EXCHANGE_AUDIENCE, expirationSeconds: 3600, path: "token" } }] } }] : [],
    },
  };
  await world.core.createNamespacedPod({ namespace: NS, body });
}

const isRunning = (name: string) => world.kubeletEvents.some((e) => e.kind === "running" && e.pod === `${NS}/${name}`);
const vmPatches = () => world.azure.arm.requestLog.filter((r) => r.operation === "vmPatch" || r.operation === "vmssPatch").length;
const assigned = () => objectsApi().list("azureassignedidentities", NS);
const statusOf = (aai: Record<string, unknown>) => String(((aai["status"] as Record<string, unknown> | undefined) ?? {})["status"] ?? "");
const podOf = (aai: Record<string, unknown>) => String(((aai["spec"] as Record<string, unknown> | undefined) ?? {})["pod"] ?? "");
const eventsOf = (name: string) => objectsApi().list("events", NS).filter((e) => (e["involvedObject"] as { name?: string } | undefined)?.name === name);
const exchangesFor = (sa: string) => world.azure.aad.federatedExchanges.filter((x) => x.subject === subject(sa));

/** Starts the app the moment the kubelet reports pod `name` Running; resolves with its outcome and the time from Running to the token. */
function appWhenRunning(name: string): Promise<{ outcome: AppOutcome; afterRunningMs: number }> {
  return new Promise((resolve) => {
    world.onKubeletEvent((event) => {
      if (event.kind !== "running" || event.pod !== `${NS}/${name}`) return;
      void appGetsToken(event.podIp, world.nmiPort).then((outcome) => resolve({ outcome, afterRunningMs: Date.now() - event.atMs }));
    });
  });
}

beforeAll(async () => {
  ensureBuilt();
  world = await startFederatedWorld({ identities: [APP, FULL], ficWriteLatencyMs: 150, ficPropagationMs: 0 });
  for (const sa of ["web", "api", "intruder"]) await serviceAccount(sa);
  azureIdentity("fed-app", APP, ["web", "api"]);
  binding("fed-app-binding", "fed-app", "fed");
}, 240_000);

afterAll(async () => {
  await world?.stop();
});

describe("federated identities with the real podid-mic and podid-nmi (docs/adr/0021-federated-identities.md)", { timeout: 90_000 }, () => {
  it("an unmodified ManagedIdentityCredential app and curl get a token naming the identity; 0 VM/VMSS PATCH; first token after Running measured", async () => {
    const app = appWhenRunning("web-0");
    await pod("web-0", "web", "fed");
    const { outcome, afterRunningMs } = await app;
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    if (!outcome.ok) return;
    expect(claimsOf(outcome.token)).toMatchObject({ appid: APP.clientId, xms_mirid: APP.id, aud: "https://vault.azure.net", tid: TENANT });
    const curl = await curlToken(world.podIp("web-0"), world.nmiPort);
    expect(curl.status, curl.body).toBe(200);
    expect(claimsOf(String(curl.json?.["access_token"]))).toMatchObject({ appid: APP.clientId, xms_mirid: APP.id });
    expect(curl.json?.["client_id"]).toBe(APP.clientId);

    // The token came from an exchange of web-0's own service-account token, trusted by the FIC MIC wrote.
    const accepted = exchangesFor("web").filter((x) => x.outcome === "accepted");
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(accepted[0]).toMatchObject({ clientId: APP.clientId, identityId: APP.id, issuer: world.cluster.kubeApiServer.serviceAccountIssuer, audiences: [EXCHANGE_AUDIENCE] });
    const fics = world.azure.catalog.federatedCredentials.list(APP.id);
    expect(fics.ok && fics.value.map((f) => f.subject)).toEqual([subject("web")]);
    expect(vmPatches()).toBe(0);
    expect(world.azure.compute.counts().patches).toBe(0);
    expect(world.azure.compute.identitiesOf({ kind: "vmss", subscriptionId: "00000000-0000-4000-8000-00000000fed3", resourceGroup: "mc_fed_rg", name: "aks-fed-12345678-vmss" })?.userAssignedKeys ?? []).toEqual([]);
    // The figure the issue asks for (target < 2 s); printed, not asserted: a timed assertion would be flaky on a shared machine.
    const runningAt = world.kubeletEvents.find((e) => e.kind === "running" && e.pod === `${NS}/web-0`)?.atMs ?? 0;
    const ficWrittenAt = world.azure.catalog.federatedCredentials.writes.find((w) => w.op === "create" && w.outcome === "ok")?.atMs ?? 0;
    console.log(
      `[federated] first token after Running: ${afterRunningMs} ms (app process start + SDK load ${afterRunningMs - outcome.ms} ms, getToken ${outcome.ms} ms; ` +
        `FIC write started ${ficWrittenAt - runningAt} ms and the exchange was accepted ${(accepted[0]?.atMs ?? 0) - runningAt} ms after Running); ` +
        `VM/VMSS PATCHes: ${vmPatches()}; FIC writes: ${world.azure.catalog.federatedCredentials.counts().creates}; AAD exchanges: ${JSON.stringify(world.azure.aad.federatedCounts())}`,
    );
  });

  it("a second pod of the same service account: no new FIC write, first token after Running measured", async () => {
    const writesBefore = world.azure.catalog.federatedCredentials.writes.length;
    const app = appWhenRunning("web-1");
    await pod("web-1", "web", "fed");
    const { outcome, afterRunningMs } = await app;
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    if (!outcome.ok) return;
    expect(claimsOf(outcome.token)).toMatchObject({ appid: APP.clientId, xms_mirid: APP.id });
    expect(world.azure.catalog.federatedCredentials.writes.length).toBe(writesBefore);
    expect(vmPatches()).toBe(0);
    console.log(`[federated] known service account: first token after Running ${afterRunningMs} ms (app process start + SDK load ${afterRunningMs - outcome.ms} ms, getToken ${outcome.ms} ms); no FIC write`);
  });

  it("a pod of another service account with the same label gets 403 IMDS-shaped JSON, and its token is never exchanged", async () => {
    await pod("intruder-0", "intruder", "fed");
    await until("intruder-0 Running", () => isRunning("intruder-0"));
    const curl = await curlToken(world.podIp("intruder-0"), world.nmiPort);
    expect(curl.status, curl.body).toBe(403);
    expect(Object.keys(curl.json ?? {})).toEqual(["error", "error_description"]);
    expect(String(curl.json?.["error_description"])).toContain("serviceAccountNotTrusted");
    const app = await appGetsToken(world.podIp("intruder-0"), world.nmiPort, undefined, 8_000);
    expect(app.ok).toBe(false);
    expect(exchangesFor("intruder")).toEqual([]);
    // MIC grants nothing to the pair and says why on the pod.
    expect(assigned().some((a) => podOf(a) === "intruder-0")).toBe(false);
    await until("FederatedServiceAccountNotTrusted Event", () => eventsOf("intruder-0").some((e) => e["reason"] === "FederatedServiceAccountNotTrusted"));
  });

  it("a pod of a trusted service account without the projected token volume gets 403 federatedTokenVolumeMissing", async () => {
    await pod("web-novolume", "web", "fed", false);
    await until("web-novolume Running", () => isRunning("web-novolume"));
    await until("web-novolume Assigned", () => assigned().some((a) => podOf(a) === "web-novolume" && statusOf(a) === "Assigned"));
    const curl = await curlToken(world.podIp("web-novolume"), world.nmiPort);
    expect(curl.status, curl.body).toBe(403);
    expect(String(curl.json?.["error_description"])).toContain("federatedTokenVolumeMissing");
  });

  it("a FIC still propagating: AAD answers AADSTS70021, NMI retries and the app gets its token", async () => {
    world.azure.catalog.federatedCredentials.setPropagationDelay(1_500);
    try {
      const app = appWhenRunning("api-0");
      await pod("api-0", "api", "fed");
      const { outcome, afterRunningMs } = await app;
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      if (!outcome.ok) return;
      expect(claimsOf(outcome.token)).toMatchObject({ appid: APP.clientId, xms_mirid: APP.id });
      const seen = exchangesFor("api").map((x) => (x.outcome === "accepted" ? "accepted" : `AADSTS${String(x.code)}`));
      expect(seen[0]).toBe("AADSTS70021");
      expect(seen.at(-1)).toBe("accepted");
      console.log(`[federated] with 1.5 s FIC propagation: exchanges ${seen.join(" → ")}; first token after Running ${afterRunningMs} ms`);
    } finally {
      world.azure.catalog.federatedCredentials.setPropagationDelay(0);
    }
  });

  it("26 pods of 21 service accounts at once: FIC writes never overlap under the identity; the 21st account is refused (Created, FederatedCredentialLimit)", async () => {
    const accounts = Array.from({ length: 21 }, (_, i) => `sa-${String(i + 1).padStart(2, "0")}`);
    for (const sa of accounts) await serviceAccount(sa);
    azureIdentity("fed-full", FULL, accounts);
    binding("fed-full-binding", "fed-full", "full");
    const before = world.azure.catalog.federatedCredentials.counts();
    await Promise.all([...accounts.map((sa) => pod(`${sa}-a`, sa, "full")), ...accounts.slice(0, 5).map((sa) => pod(`${sa}-b`, sa, "full"))]);
    const full = () => assigned().filter((a) => podOf(a).startsWith("sa-"));
    await until("25 Assigned and 1 Created AzureAssignedIdentities for fed-full", () => full().length === 26 && full().filter((a) => statusOf(a) === "Assigned").length === 25, 60_000);
    const created = full().filter((a) => statusOf(a) === "Created");
    expect(created).toHaveLength(1);
    const refusedName = String((created[0]?.["metadata"] as { name?: string } | undefined)?.name);
    await until("FederatedCredentialLimit Event", () => eventsOf(refusedName).some((e) => e["reason"] === "FederatedCredentialLimit"), 20_000);
    const listed = world.azure.catalog.federatedCredentials.list(FULL.id);
    expect(listed.ok && listed.value.length).toBe(20);
    const counts = world.azure.catalog.federatedCredentials.counts();
    expect(counts.creates - before.creates).toBe(20);
    // One write at a time under the identity (the fake records every overlapping arrival, 409 or not).
    expect(counts.peakConcurrentWritesByIdentity[FULL.id.toLowerCase()]).toBe(1);
    expect(counts.refused["concurrentWrite"] ?? 0).toBe(0);
    // Still refused a while later: MIC does not retry the 21st into a write.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(world.azure.catalog.federatedCredentials.counts().creates - before.creates).toBe(20);
    expect(vmPatches()).toBe(0);
    console.log(`[federated] 21 service accounts: FIC creates ${counts.creates - before.creates}, peak concurrent writes under the identity ${counts.peakConcurrentWritesByIdentity[FULL.id.toLowerCase()]}, 409s ${counts.refused["concurrentWrite"] ?? 0}, VM/VMSS PATCHes ${vmPatches()}`);
  });

  it("deleting the pods of a service account deletes the FIC MIC created for it", async () => {
    await world.core.deleteNamespacedPod({ name: "api-0", namespace: NS });
    await until("api FIC deleted", () => {
      const listed = world.azure.catalog.federatedCredentials.list(APP.id);
      return listed.ok && listed.value.every((f) => f.subject !== subject("api"));
    });
    const listed = world.azure.catalog.federatedCredentials.list(APP.id);
    expect(listed.ok && listed.value.map((f) => f.subject)).toEqual([subject("web")]);
  });
});
