import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatUserAssignedIdentityId, type TokenSourceRequest } from "@podid/core";
import {
  createClientCertificate,
  decodeFakeJwt,
  FakeAadServer,
  FakeCompute,
  FakeIdentityCatalog,
  FakeImdsServer,
  TestCertificateAuthority,
  type ClientCertificate,
} from "@podid/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AzureTokenSource } from "./azure-token-source.js";

/**
 * NMI's token source against the loopback AAD (types 1 and 2, through the real `@azure/identity`) and
 * IMDS (type 0). Tokens are fake JWTs, so each test proves which application and tenant a token is for.
 */
const TENANT = "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4";
const AUX = "6f708192-a3b4-4c5d-9e6f-708192a3b4c5";
const VAULT = "https://vault.azure.net";
const ARM = "https://management.azure.com/";

let aad: FakeAadServer;
let imds: FakeImdsServer;
let source: AzureTokenSource;
let cert: ClientCertificate;
let otherCert: ClientCertificate;
let pfx: Uint8Array;
const dir = mkdtempSync(join(tmpdir(), "podid-token-source-"));

const secretRequest = (overrides: Partial<Extract<TokenSourceRequest, { kind: "servicePrincipalSecret" }>> = {}): TokenSourceRequest => ({
  kind: "servicePrincipalSecret",
  resource: VAULT,
  tenantId: TENANT,
  clientId: "app-secret",
  secret: "s3cret",
  auxiliaryTenantIds: [],
  authorityHost: "",
  ...overrides,
});

const certificateRequest = (certificate: Uint8Array, password: string, clientId = "app-cert"): TokenSourceRequest => ({
  kind: "servicePrincipalCertificate",
  resource: ARM,
  tenantId: TENANT,
  clientId,
  certificate,
  password,
  authorityHost: aad.url,
});

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  aad = await FakeAadServer.start({ ca });
  cert = await createClientCertificate("podid-sp");
  otherCert = await createClientCertificate("someone-else");
  aad.registerApplication({ tenantId: TENANT, clientId: "app-secret", secret: "s3cret" });
  aad.registerApplication({ tenantId: AUX, clientId: "app-secret", secret: "s3cret" });
  aad.registerApplication({ tenantId: TENANT, clientId: "app-cert", certificatePem: cert.cert });
  writeFileSync(join(dir, "cert.pem"), cert.cert);
  writeFileSync(join(dir, "key.pem"), cert.key);
  // The original's type 2 Secret holds a PKCS#12 file; write one the way users made them (legacy layout).
  execFileSync("openssl", ["pkcs12", "-export", "-legacy", "-in", join(dir, "cert.pem"), "-inkey", join(dir, "key.pem"), "-out", join(dir, "sp.p12"), "-passout", "pass:p12-pass"], { stdio: "ignore" });
  pfx = new Uint8Array(readFileSync(join(dir, "sp.p12")));
  const compute = new FakeCompute();
  const catalog = new FakeIdentityCatalog();
  const node = compute.addVm(
    { subscriptionId: "s", resourceGroup: "rg", name: "node-0" },
    { userAssigned: [formatUserAssignedIdentityId({ subscriptionId: "s", resourceGroup: "ids", name: "web" })] },
  );
  imds = await FakeImdsServer.start({ compute, target: node, catalog, throttle: false });
  source = new AzureTokenSource({ imds: { endpoint: imds.url }, defaultAuthorityHost: aad.url, aadRetry: { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 10 } });
}, 30_000);

afterAll(async () => {
  await aad?.close();
  await imds?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  aad.resetCounters();
});

describe("AzureTokenSource", () => {
  it("type 1: a client-secret token names the application, its tenant and the resource, in IMDS's shape", async () => {
    const result = await source.acquire(secretRequest());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    for (const value of Object.values(result.value)) expect(typeof value).toBe("string");
    expect(result.value).toMatchObject({ client_id: "app-secret", resource: VAULT, token_type: "Bearer", refresh_token: "" });
    const claims = decodeFakeJwt(result.value.access_token);
    expect(claims).toMatchObject({ appid: "app-secret", tid: TENANT, aud: VAULT });
    // IMDS reports the token's exp; MSAL's own estimate may run a second later and is capped to it.
    expect(Number(result.value.expires_on)).toBeLessThanOrEqual(claims.exp);
    expect(Number(result.value.expires_on)).toBeGreaterThanOrEqual(claims.exp - 2);
    expect(result.value.not_before).toBe(String(claims.nbf));
  });

  it("reuses the credential so MSAL's cache answers repeated requests; a rotated secret gets a new credential", async () => {
    await source.acquire(secretRequest({ resource: "https://storage.azure.com/" }));
    await source.acquire(secretRequest({ resource: "https://storage.azure.com/" }));
    expect(aad.counts().tokenRequests).toBe(1);
    const rotated = await source.acquire(secretRequest({ resource: "https://storage.azure.com/", secret: "rotated" }));
    expect(rotated).toMatchObject({ ok: false, error: { kind: "rejected", error: "invalid_client" } });
    expect(aad.counts().tokenRequests).toBe(2);
  });

  it("refuses a wrong secret or an unknown application with AAD's error", async () => {
    const wrong = await source.acquire(secretRequest({ secret: "nope", resource: "https://graph.microsoft.com/" }));
    expect(wrong).toMatchObject({ ok: false, error: { kind: "rejected", status: 401, error: "invalid_client" } });
    expect(!wrong.ok && wrong.error.kind === "rejected" && wrong.error.description).toMatch(/AADSTS7000215/);
    expect(await source.acquire(secretRequest({ clientId: "ghost" }))).toMatchObject({ ok: false, error: { kind: "rejected", status: 400 } });
  });

  it("type 1 with auxiliary tenants: one token per tenant, the primary returned by acquire", async () => {
    const request = secretRequest({ auxiliaryTenantIds: [AUX], resource: "https://management.core.windows.net/" });
    if (request.kind !== "servicePrincipalSecret") throw new Error("unreachable");
    const all = await source.acquireMultiTenant(request);
    expect(all.ok).toBe(true);
    if (!all.ok) return;
    expect(decodeFakeJwt(all.value.primary.access_token).tid).toBe(TENANT);
    expect(all.value.auxiliary.map((a) => [a.tenantId, decodeFakeJwt(a.body.access_token).tid])).toEqual([[AUX, AUX]]);
    const primary = await source.acquire(request);
    expect(primary.ok && decodeFakeJwt(primary.value.access_token).tid).toBe(TENANT);
    // Like the original's multi-tenant flow, a tenant the application is not in fails the request.
    const stranger = "70819203-b4c5-4d6e-8f70-8192a3b4c5d6";
    aad.registerApplication({ tenantId: stranger, clientId: "someone-else", secret: "x" });
    expect(await source.acquire(secretRequest({ auxiliaryTenantIds: [stranger] }))).toMatchObject({ ok: false, error: { kind: "rejected", status: 400 } });
    // A tenant that does not exist fails AAD discovery, which @azure/identity reports as unavailable.
    expect(await source.acquire(secretRequest({ auxiliaryTenantIds: ["8192a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7"] }))).toMatchObject({ ok: false, error: { kind: "unavailable" } });
  });

  it("type 2: a PKCS#12 Secret yields a client assertion AAD accepts, and a token naming the application", async () => {
    const result = await source.acquire(certificateRequest(pfx, "p12-pass"));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(decodeFakeJwt(result.value.access_token)).toMatchObject({ appid: "app-cert", tid: TENANT, aud: ARM });
    expect(aad.requestLog.filter((e) => e.kind === "token").map((e) => e.credential)).toEqual(["client_assertion"]);
    // PEM (certificate and key) works as well.
    const pem = await source.acquire(certificateRequest(new Uint8Array(Buffer.from(cert.combinedPem)), "", "app-cert"));
    expect(pem.ok && decodeFakeJwt(pem.value.access_token).appid).toBe("app-cert");
  });

  it("type 2: a wrong password is refused locally, a certificate AAD does not know is refused by AAD", async () => {
    expect(await source.acquire(certificateRequest(pfx, "wrong"))).toMatchObject({
      ok: false,
      error: { kind: "rejected", status: 0, error: "invalid_client_certificate" },
    });
    expect(aad.counts().tokenRequests).toBe(0);
    const stranger = await source.acquire(certificateRequest(new Uint8Array(Buffer.from(otherCert.combinedPem)), ""));
    expect(stranger).toMatchObject({ ok: false, error: { kind: "rejected", error: "invalid_client" } });
  });

  it("uses the identity's adEndpoint when given, the cloud's authority otherwise; an unreachable AAD is unavailable", async () => {
    const closed = await FakeAadServer.start({ ca: TestCertificateAuthority.fromEnvironment() });
    const deadUrl = closed.url;
    await closed.close();
    expect(await source.acquire(secretRequest({ authorityHost: deadUrl }))).toMatchObject({ ok: false, error: { kind: "unavailable" } });
    expect(await source.acquire(secretRequest({ authorityHost: `${aad.url}/`, resource: "https://database.windows.net/" }))).toMatchObject({ ok: true });
  });

  it("classifies AAD outages and throttling", async () => {
    const flaky = await FakeAadServer.start({ ca: TestCertificateAuthority.fromEnvironment() });
    try {
      flaky.registerApplication({ tenantId: TENANT, clientId: "app-secret", secret: "s3cret" });
      const request = secretRequest({ authorityHost: flaky.url });
      flaky.failNext({ status: 503, error: "temporarily_unavailable", description: "AADSTS90033: busy" }, 100);
      expect(await source.acquire(request)).toMatchObject({ ok: false, error: { kind: "unavailable" } });
      const flakyFresh = await FakeAadServer.start({ ca: TestCertificateAuthority.fromEnvironment() });
      try {
        flakyFresh.registerApplication({ tenantId: TENANT, clientId: "app-secret", secret: "s3cret" });
        flakyFresh.failNext({ status: 429, error: "too_many_requests", description: "AADSTS50196: slow down" }, 100);
        expect(await source.acquire(secretRequest({ authorityHost: flakyFresh.url }))).toMatchObject({ ok: false, error: { kind: "throttled" } });
      } finally {
        await flakyFresh.close();
      }
    } finally {
      await flaky.close();
    }
  });

  it("type 0 and node identities come from IMDS, passed through", async () => {
    const result = await source.acquire({ kind: "managedIdentity", resource: ARM });
    expect(result.ok && decodeFakeJwt(result.value.access_token).xms_mirid?.toLowerCase()).toMatch(/userassignedidentities\/web$/);
    expect(await source.acquire({ kind: "managedIdentity", resource: ARM, selector: { by: "client_id", value: "not-here" } })).toMatchObject({
      ok: false,
      error: { kind: "rejected", status: 400, description: "Identity not found" },
    });
  });
});
