import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubeletServiceAccountTokenReader } from "@podid/adapter-k8s";
import type { AzureIdentity, PodView } from "@podid/core";
import { decodeFakeJwt, FakeIdentityCatalog, identityArmId, makeAssigned, makeBinding, makeIdentity, makePod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

// Federated identities (type 3) on NMI's token path: the calling pod's own projected service-account token,
// read from kubelet's pods directory (real files), exchanged through the token source (FakeTokenSource
// applies Entra ID's claim checks against the identity's federated credentials) — docs/adr/0021-federated-identities.md.

const META = { Metadata: "true" };
const ISSUER = "https://oidc.cluster.example";
const VOLUME = { volumeName: "azure-identity-token", path: "azure-identity-token", expirationSeconds: 3600 };
const RESOURCE = "https://vault.azure.net";

let h: NmiHarness;
let podsDir: string;
let catalog: FakeIdentityCatalog;
let reader: KubeletServiceAccountTokenReader;

beforeEach(() => {
  podsDir = mkdtempSync(join(tmpdir(), "podid-nmi-pods-"));
  catalog = new FakeIdentityCatalog();
  reader = new KubeletServiceAccountTokenReader({ podsDir, now: () => h.clock.now() });
  h = createHarness({ catalog, serviceAccountTokens: reader });
});

afterEach(async () => {
  await h.app.close();
  rmSync(podsDir, { recursive: true, force: true });
});

/** The service-account token kubelet projects for `pod` (unsigned: NMI checks claims, Entra ID the signature). */
function projectedToken(pod: PodView, overrides: Record<string, unknown> = {}): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(h.clock.now() / 1000);
  const { namespace, name, uid } = pod.metadata;
  const claims = {
    aud: ["api://AzureADTokenExchange"],
    exp: now + 3600,
    iat: now,
    nbf: now,
    iss: ISSUER,
    sub: `system:serviceaccount:${namespace}:${pod.serviceAccountName}`,
    "kubernetes.io": { namespace, pod: { name, uid }, serviceaccount: { name: pod.serviceAccountName, uid: "sa-uid" } },
    ...overrides,
  };
  return `${b64({ alg: "RS256", kid: "k" })}.${b64(claims)}.c2ln`;
}

/** Writes `token` where kubelet keeps `pod`'s federated token volume. */
function kubeletWrites(pod: PodView, token: string): void {
  const file = join(podsDir, pod.metadata.uid ?? "", "volumes", "kubernetes.io~projected", VOLUME.volumeName, VOLUME.path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, token);
}

/** A federated identity in `team-a` trusting service accounts `serviceAccounts`, with a credential for each. */
function federatedIdentity(serviceAccounts: readonly string[]): AzureIdentity {
  const resourceID = identityArmId("fed");
  const record = catalog.register({ id: resourceID });
  for (const sa of serviceAccounts) {
    catalog.federatedCredentials.add(resourceID, `podid-team-a-${sa}`, { issuer: ISSUER, subject: `system:serviceaccount:team-a:${sa}`, audiences: ["api://AzureADTokenExchange"] });
  }
  const base = makeIdentity({ name: "fed", namespace: "team-a", type: 1, clientId: record.clientId, tenantId: record.tenantId });
  return h.cluster.apply("azureidentities", { ...base, spec: { ...base.spec, type: 3, resourceID, serviceAccounts } });
}

/** A pod labelled for the identity; `assigned`: MIC wrote its AzureAssignedIdentity (as it does for trusted pods). */
function federatedPod(o: { name: string; ip: string; serviceAccount: string; volume?: boolean; assigned?: boolean }, identity: AzureIdentity): PodView {
  const base = makePod({ name: o.name, namespace: "team-a", ip: o.ip, selector: "fed" });
  const pod = h.cluster.apply("pods", { ...base, serviceAccountName: o.serviceAccount, ...(o.volume === false ? {} : { federatedTokenVolume: VOLUME }) });
  if (o.assigned !== false) h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding(identity), "Assigned", "team-a"));
  return pod;
}

function binding(identity: AzureIdentity) {
  return makeBinding(identity, "fed");
}

async function ask(ip: string, resource = RESOURCE) {
  const res = await h.app.inject({ url: tokenUrl(resource), headers: META, remoteAddress: ip });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

const federatedCalls = () => h.tokens.calls.filter((c) => c.kind === "federated");
const audits = () => h.logger.findAll("nmi decision").map((r) => r.fields);

describe("federated identities on the token path", () => {
  it("exchanges the calling pod's own token: an IMDS-shaped token whose claims name the identity", async () => {
    const identity = federatedIdentity(["app"]);
    h.cluster.apply("azureidentitybindings", binding(identity));
    const pod = federatedPod({ name: "app-0", ip: "10.0.0.5", serviceAccount: "app" }, identity);
    kubeletWrites(pod, projectedToken(pod));
    const res = await ask("10.0.0.5");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resource: RESOURCE, token_type: "Bearer", client_id: identity.spec.clientID, expires_on: expect.stringMatching(/^\d+$/) });
    const claims = decodeFakeJwt(String(res.body["access_token"]));
    expect(claims).toMatchObject({ appid: identity.spec.clientID, xms_mirid: identity.spec.resourceID, aud: RESOURCE });
    expect(federatedCalls()).toEqual([expect.objectContaining({ outcome: "ok", clientId: identity.spec.clientID })]);
    expect(audits()[0]).toMatchObject({ decision: "issued", identity: "team-a/fed", podName: "app-0", status: 200 });
  });

  it("answers a pod of another service account with the same label 403, IMDS-shaped, without asking Entra ID", async () => {
    const identity = federatedIdentity(["app"]);
    h.cluster.apply("azureidentitybindings", binding(identity));
    // MIC writes no AzureAssignedIdentity for it; a forged one changes nothing.
    const intruder = federatedPod({ name: "intruder", ip: "10.0.0.6", serviceAccount: "intruder", assigned: false }, identity);
    kubeletWrites(intruder, projectedToken(intruder));
    const forged = federatedPod({ name: "forged", ip: "10.0.0.7", serviceAccount: "intruder" }, identity);
    kubeletWrites(forged, projectedToken(forged));
    for (const ip of ["10.0.0.6", "10.0.0.7"]) {
      const res = await ask(ip);
      expect(res.status).toBe(403);
      expect(Object.keys(res.body).sort()).toEqual(["error", "error_description"]);
      expect(res.body).toMatchObject({ error: "forbidden", error_description: expect.stringMatching(/^serviceAccountNotTrusted: federated identity team-a\/fed/) });
    }
    expect(h.tokens.calls).toHaveLength(0);
    expect(audits().map((a) => [a["decision"], a["reason"], a["status"]])).toEqual([
      ["federatedRefused", "serviceAccountNotTrusted", 403],
      ["federatedRefused", "serviceAccountNotTrusted", 403],
    ]);
  });

  it("answers a trusted pod without a federated token volume 403 federatedTokenVolumeMissing", async () => {
    const identity = federatedIdentity(["app"]);
    h.cluster.apply("azureidentitybindings", binding(identity));
    federatedPod({ name: "no-volume", ip: "10.0.0.8", serviceAccount: "app", volume: false }, identity);
    const res = await ask("10.0.0.8");
    expect(res.status).toBe(403);
    expect(res.body["error_description"]).toMatch(/^federatedTokenVolumeMissing: pod team-a\/no-volume/);
    expect(audits()[0]).toMatchObject({ decision: "federatedRefused", reason: "federatedTokenVolumeMissing" });
    expect(h.tokens.calls).toHaveLength(0);
  });

  it("caches per (identity, service account, resource): one Entra ID exchange each, shared by pods of one service account", async () => {
    const identity = federatedIdentity(["app", "web"]);
    h.cluster.apply("azureidentitybindings", binding(identity));
    const app0 = federatedPod({ name: "app-0", ip: "10.0.0.5", serviceAccount: "app" }, identity);
    const app1 = federatedPod({ name: "app-1", ip: "10.0.0.9", serviceAccount: "app" }, identity);
    const web = federatedPod({ name: "web-0", ip: "10.0.0.10", serviceAccount: "web" }, identity);
    for (const pod of [app0, app1, web]) kubeletWrites(pod, projectedToken(pod));
    const first = await ask("10.0.0.5");
    const second = await ask("10.0.0.5");
    expect(second.body["access_token"]).toBe(first.body["access_token"]);
    expect((await ask("10.0.0.9")).body["access_token"]).toBe(first.body["access_token"]);
    expect(federatedCalls()).toHaveLength(1);
    // Another service account of the same identity gets its own exchange (and its own token).
    const webToken = await ask("10.0.0.10");
    expect(webToken.status).toBe(200);
    expect(webToken.body["access_token"]).not.toBe(first.body["access_token"]);
    expect(federatedCalls()).toHaveLength(2);
    // Another resource is another exchange.
    expect((await ask("10.0.0.5", "https://management.azure.com/")).status).toBe(200);
    expect(federatedCalls()).toHaveLength(3);
    expect(audits().map((a) => a["cache"])).toEqual(["miss", "hit", "hit", "miss", "miss"]);
    // app-0's file was read once for both resources (the reader keeps it for a minute), web-0's once.
    expect(reader.diskReads).toBe(2);
  });

  it("never sends a token file that is not the caller's (403), and answers 503 until kubelet has written it", async () => {
    const identity = federatedIdentity(["app"]);
    h.cluster.apply("azureidentitybindings", binding(identity));
    const pod = federatedPod({ name: "app-0", ip: "10.0.0.5", serviceAccount: "app" }, identity);
    const missing = await ask("10.0.0.5");
    expect(missing.status).toBe(503);
    expect(missing.body["error_description"]).toMatch(/^serviceAccountTokenMissing: /);
    kubeletWrites(pod, projectedToken(pod, { "kubernetes.io": { pod: { uid: "another-pod" } } }));
    const foreign = await ask("10.0.0.5");
    expect(foreign.status).toBe(403);
    expect(foreign.body["error_description"]).toMatch(/^serviceAccountTokenMismatch: /);
    expect(federatedCalls()).toHaveLength(0);
    expect(audits().map((a) => a["reason"])).toEqual(["missing", "mismatch:podUid"]);
    // Once kubelet writes the pod's own token (the reader re-reads a file after a failure at once), it works.
    kubeletWrites(pod, projectedToken(pod));
    h.clock.advance(61_000);
    expect((await ask("10.0.0.5")).status).toBe(200);
  });

  it("answers 403 when Entra ID has no federated credential for the service account (it refuses, NMI passes that on)", async () => {
    const identity = federatedIdentity(["app"]);
    h.cluster.apply("azureidentitybindings", binding(identity));
    catalog.federatedCredentials.forgetIdentity(identity.spec.resourceID);
    const pod = federatedPod({ name: "app-0", ip: "10.0.0.5", serviceAccount: "app" }, identity);
    kubeletWrites(pod, projectedToken(pod));
    const res = await ask("10.0.0.5");
    expect(res.status).toBe(403);
    expect(res.body["error_description"]).toMatch(/AADSTS70021/);
  });
});
