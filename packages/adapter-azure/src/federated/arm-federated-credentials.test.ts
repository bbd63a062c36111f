import { formatUserAssignedIdentityId, federatedCredentialName, FEDERATED_TOKEN_AUDIENCE, serviceAccountSubject, type FederatedCredential } from "@podid/core";
import { ARM_AUDIENCES, FakeAadServer, FakeArmServer, FakeCompute, FakeIdentityCatalog, TestCertificateAuthority } from "@podid/testkit";
import { RestError } from "@azure/core-rest-pipeline";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseAzureJsonConfig } from "../config/load-azure-config.js";
import { createArmCredential } from "../credentials/arm-credential.js";
import { armClientSettings } from "../compute/arm-client-settings.js";
import { ArmFederatedCredentials, toFederatedCredentialError } from "./arm-federated-credentials.js";

const SUB = "3c4d5e6f-7081-4920-8b3c-4d5e6f708192";
const TENANT = "5e6f7081-9203-4b4c-8d5e-6f7081920314";
const ISSUER = "https://issuer.cluster.test/";
const uami = (name: string) => formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: "identities", name });
const credentialFor = (sa: string): FederatedCredential => {
  const subject = serviceAccountSubject("team-a", sa);
  return { name: federatedCredentialName(ISSUER, subject), issuer: ISSUER, subject, audiences: [FEDERATED_TOKEN_AUDIENCE] };
};

let catalog: FakeIdentityCatalog;
let arm: FakeArmServer;
let aad: FakeAadServer;
let port: ArmFederatedCredentials;
const calls: string[] = [];

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  catalog = new FakeIdentityCatalog();
  aad = await FakeAadServer.start({ ca });
  aad.registerApplication({ tenantId: TENANT, clientId: "mic", secret: "s3cret" });
  // Two credentials per page, so listing five follows nextLink twice.
  arm = await FakeArmServer.start({ ca, compute: new FakeCompute(), catalog, auth: { audiences: ARM_AUDIENCES }, pageSize: 2 });
  const parsed = await parseAzureJsonConfig(
    JSON.stringify({ tenantId: TENANT, aadClientId: "mic", aadClientSecret: "s3cret", subscriptionId: SUB, resourceManagerEndpoint: arm.url, activeDirectoryEndpoint: aad.url }),
    "azure.json",
    {},
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  port = new ArmFederatedCredentials({
    credential: createArmCredential(parsed.value),
    ...armClientSettings(parsed.value, { maxRetries: 0, retryDelayInMs: 5, maxRetryDelayInMs: 10 }),
    onCall: (operation, error) => calls.push(error === undefined ? operation : `${operation}:${error}`),
  });
});

afterAll(async () => {
  await arm?.close();
  await aad?.close();
});

let identity = "";
let seq = 0;
beforeEach(() => {
  identity = uami(`fed-${++seq}`);
  catalog.register(identity);
  calls.length = 0;
});

afterEach(() => {
  catalog.federatedCredentials.setWriteLatency(0);
  catalog.federatedCredentials.setWriteInterval(undefined);
});

describe("ArmFederatedCredentials against the fake ARM (@azure/arm-msi federatedIdentityCredentials)", () => {
  it("creates, lists across pages and deletes credentials", async () => {
    const wanted = ["a", "b", "c", "d", "e"].map(credentialFor);
    for (const credential of wanted) expect(await port.create(identity, credential)).toEqual({ ok: true, value: credential });
    const listed = await port.list(identity);
    expect(listed.ok && [...listed.value].sort((x, y) => x.name.localeCompare(y.name))).toEqual([...wanted].sort((x, y) => x.name.localeCompare(y.name)));
    expect(arm.requestLog.filter((r) => r.operation === "ficList").length).toBeGreaterThanOrEqual(3);
    expect(await port.delete(identity, wanted[0]!.name)).toEqual({ ok: true, value: undefined });
    expect(await port.delete(identity, wanted[0]!.name)).toEqual({ ok: true, value: undefined }); // ARM: 204 for none
    const after = await port.list(identity);
    expect(after.ok && after.value.map((c) => c.subject).sort()).toEqual(wanted.slice(1).map((c) => c.subject).sort());
    expect(calls.filter((c) => c === "fic_create")).toHaveLength(5);
  });

  it("maps an overlapping write to conflict (409)", async () => {
    catalog.federatedCredentials.setWriteLatency(300);
    const results = await Promise.all([port.create(identity, credentialFor("a")), port.create(identity, credentialFor("b"))]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, error: { kind: "conflict" } });
  });

  it("maps throttling to throttled with the Retry-After it carried (429)", async () => {
    catalog.federatedCredentials.setWriteInterval(3_000);
    expect((await port.create(identity, credentialFor("a"))).ok).toBe(true);
    const throttled = await port.create(identity, credentialFor("b"));
    expect(throttled).toMatchObject({ ok: false, error: { kind: "throttled" } });
    if (!throttled.ok && throttled.error.kind === "throttled") {
      expect(throttled.error.retryAfterMs).toBeGreaterThanOrEqual(1_000);
      expect(throttled.error.retryAfterMs).toBeLessThanOrEqual(3_000);
    }
  });

  it("maps the 21st credential to limit (400) and other 400s to failed", async () => {
    for (let i = 0; i < 20; i++) expect((await port.create(identity, credentialFor(`sa-${i}`))).ok).toBe(true);
    expect(await port.create(identity, credentialFor("sa-20"))).toMatchObject({ ok: false, error: { kind: "limit" } });
    const duplicate = await port.create(identity, { ...credentialFor("sa-0"), name: "same-trust-other-name" });
    expect(duplicate).toMatchObject({ ok: false, error: { kind: "failed", status: 400 } });
  });

  it("maps a missing identity to notFound (404), and a malformed id without calling ARM", async () => {
    const before = arm.requestLog.length;
    expect(await port.list(uami("nobody"))).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(await port.create(uami("nobody"), credentialFor("a"))).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(arm.requestLog.length).toBe(before + 2);
    expect(await port.list("/subscriptions/x/not-an-identity")).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(arm.requestLog.length).toBe(before + 2);
  });
});

describe("toFederatedCredentialError", () => {
  const rest = (statusCode: number, message: string, headers: Record<string, string> = {}) =>
    new RestError(message, { statusCode, code: "X", response: { headers: { get: (n: string) => headers[n.toLowerCase()] } } as never });

  it("honours Retry-After in seconds and as a date, and assumes 4 s without one", () => {
    const now = Date.parse("2026-12-06T12:00:00Z");
    expect(toFederatedCredentialError(rest(429, "slow down", { "retry-after": "7" }), now)).toMatchObject({ kind: "throttled", retryAfterMs: 7_000 });
    expect(toFederatedCredentialError(rest(429, "slow down", { "retry-after": "Sun, 06 Dec 2026 12:00:10 GMT" }), now)).toMatchObject({ kind: "throttled", retryAfterMs: 10_000 });
    expect(toFederatedCredentialError(rest(429, "slow down"), now)).toMatchObject({ kind: "throttled", retryAfterMs: 4_000 });
  });

  it("keeps the status of failures it does not classify further", () => {
    expect(toFederatedCredentialError(rest(403, "AuthorizationFailed"), 0)).toMatchObject({ kind: "failed", status: 403 });
    expect(toFederatedCredentialError(new Error("socket hang up"), 0)).toMatchObject({ kind: "failed" });
    expect(toFederatedCredentialError(rest(400, "The managed identity x already has the maximum number of federated identity credentials (20)."), 0)).toMatchObject({ kind: "limit" });
  });
});
