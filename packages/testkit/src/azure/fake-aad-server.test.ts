import { generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";
import { ClientCertificateCredential, ClientSecretCredential } from "@azure/identity";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import { createClientCertificate, type ClientCertificate } from "../tls/test-certificate-authority.js";
import { JWT_BEARER_ASSERTION_TYPE, FakeAadServer, fakeClientId } from "./fake-aad-server.js";
import { authenticationRefusal } from "./test-support/authentication-refusal.js";

const TENANT_A = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
const TENANT_B = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb";
const SECRET_APP = fakeClientId("secret-app");
const CERT_APP = fakeClientId("cert-app");
const ARM_SCOPE = "https://management.azure.com/.default";

let aad: FakeAadServer;
let cert: ClientCertificate;
let otherCert: ClientCertificate;

const options = (extra: object = {}) => ({ authorityHost: aad.url, disableInstanceDiscovery: true, ...extra });

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A client assertion signed by hand, to exercise each check MSAL would never get wrong. */
function assertion(key: KeyObject | string, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64url({ typ: "JWT", ...header })}.${b64url(payload)}`;
  return `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`;
}

async function postToken(tenant: string, form: Record<string, string>, path = "oauth2/v2.0/token"): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${aad.url}/${tenant}/${path}`, { method: "POST", body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  [cert, otherCert] = await Promise.all([createClientCertificate("cert-app"), createClientCertificate("someone-else")]);
  aad = await FakeAadServer.start();
  aad.registerApplication({ tenantId: TENANT_A, clientId: SECRET_APP, secret: "s3cret" });
  // The same multi-tenant application also has a service principal in tenant B (an auxiliary tenant).
  aad.registerApplication({ tenantId: TENANT_B, clientId: SECRET_APP, secret: "s3cret", principalId: "b-principal" });
  aad.registerApplication({ tenantId: TENANT_A, clientId: CERT_APP, certificatePem: cert.cert });
});

beforeEach(() => {
  aad.resetCounters();
});

afterAll(async () => {
  await aad.close();
});

describe("FakeAadServer with @azure/identity ClientSecretCredential", () => {
  it("issues a token whose claims name the application, tenant and resource", async () => {
    const token = await new ClientSecretCredential(TENANT_A, SECRET_APP, "s3cret", options()).getToken(ARM_SCOPE);
    const claims = decodeFakeJwt(token.token);
    expect(claims).toMatchObject({ appid: SECRET_APP, tid: TENANT_A, aud: "https://management.azure.com" });
    expect(claims.xms_mirid).toBeUndefined();
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(aad.counts()).toMatchObject({ discovery: 1, tokenRequests: 1, issued: 1 });
    expect(aad.requestLog.find((e) => e.kind === "token")).toMatchObject({ credential: "client_secret", clientId: SECRET_APP, status: 200 });
  });

  it("serves auxiliary tenants of a multi-tenant application", async () => {
    const credential = new ClientSecretCredential(TENANT_A, SECRET_APP, "s3cret", options({ additionallyAllowedTenants: [TENANT_B] }));
    const home = decodeFakeJwt((await credential.getToken(ARM_SCOPE)).token);
    const aux = decodeFakeJwt((await credential.getToken(ARM_SCOPE, { tenantId: TENANT_B })).token);
    expect(home.tid).toBe(TENANT_A);
    expect(aux).toMatchObject({ tid: TENANT_B, appid: SECRET_APP, oid: "b-principal" });
  });

  it("refuses a wrong secret with invalid_client AADSTS7000215 and an unknown application with AADSTS700016", async () => {
    const wrong = await authenticationRefusal(new ClientSecretCredential(TENANT_A, SECRET_APP, "nope", options()).getToken(ARM_SCOPE));
    expect(wrong.message).toMatch(/^invalid_client: Error\(s\): 7000215 .* Description: AADSTS7000215: Invalid client secret provided/);
    const unknown = await authenticationRefusal(new ClientSecretCredential(TENANT_A, fakeClientId("ghost"), "x", options()).getToken(ARM_SCOPE));
    expect(unknown.message).toMatch(/^unauthorized_client: .*AADSTS700016/);
    expect(aad.counts().errors).toEqual({ invalid_client: 1, unauthorized_client: 1 });
  });

  it("refuses an application that is not registered in the requested tenant", async () => {
    const other = "cccccccc-3333-4333-8333-cccccccccccc";
    const e = await new ClientSecretCredential(other, SECRET_APP, "s3cret", options()).getToken(ARM_SCOPE).then(
      () => undefined,
      (error: unknown) => error,
    );
    // Discovery of an unknown tenant fails, which @azure/identity reports as "credential unavailable".
    expect(String(e)).toMatch(/^CredentialUnavailableError: endpoints_resolution_error/);
    expect(aad.requestLog).toEqual([expect.objectContaining({ kind: "discovery", tenant: other, status: 400, error: "invalid_tenant" })]);
  });
});

describe("FakeAadServer with @azure/identity ClientCertificateCredential", () => {
  it("verifies the client assertion against the registered certificate and issues the app's token", async () => {
    const token = await new ClientCertificateCredential(TENANT_A, CERT_APP, { certificate: cert.combinedPem }, options()).getToken(ARM_SCOPE);
    expect(decodeFakeJwt(token.token)).toMatchObject({ appid: CERT_APP, tid: TENANT_A, aud: "https://management.azure.com" });
    expect(aad.requestLog.find((e) => e.kind === "token")).toMatchObject({ credential: "client_assertion", status: 200 });
    const withChain = await new ClientCertificateCredential(TENANT_A, CERT_APP, { certificate: cert.combinedPem }, options({ sendCertificateChain: true })).getToken(ARM_SCOPE);
    expect(decodeFakeJwt(withChain.token).appid).toBe(CERT_APP);
  });

  it("refuses a certificate that is not registered on the application (AADSTS700027)", async () => {
    const e = await authenticationRefusal(new ClientCertificateCredential(TENANT_A, CERT_APP, { certificate: otherCert.combinedPem }, options()).getToken(ARM_SCOPE));
    expect(e.message).toMatch(/^invalid_client: .*AADSTS700027: The certificate with identifier used to sign the client assertion is not registered/);
  });
});

describe("FakeAadServer client-assertion checks (hand-made assertions)", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const endpoint = () => `${aad.url}/${TENANT_A}/oauth2/v2.0/token`;
  const claims = (extra: Record<string, unknown> = {}) => ({ aud: endpoint(), iss: CERT_APP, sub: CERT_APP, jti: randomUUID(), nbf: now(), exp: now() + 600, ...extra });
  const form = (jwt: string) => ({ grant_type: "client_credentials", client_id: CERT_APP, scope: ARM_SCOPE, client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: jwt });

  it("accepts a correct RS256 assertion identified by x5t", async () => {
    const ok = await postToken(TENANT_A, form(assertion(cert.key, { alg: "RS256", x5t: cert.x5t }, claims())));
    expect(ok.status).toBe(200);
    expect(typeof ok.body["expires_in"]).toBe("number");
    expect(decodeFakeJwt(String(ok.body["access_token"])).appid).toBe(CERT_APP);
  });

  it("refuses expired assertions, foreign issuers, wrong audiences and forged signatures", async () => {
    const expired = await postToken(TENANT_A, form(assertion(cert.key, { alg: "RS256", x5t: cert.x5t }, claims({ nbf: now() - 7200, exp: now() - 3600 }))));
    expect(expired.status).toBe(401);
    expect(expired.body["error_codes"]).toEqual([700024]);
    const foreign = await postToken(TENANT_A, form(assertion(cert.key, { alg: "RS256", x5t: cert.x5t }, claims({ iss: "someone", sub: "someone" }))));
    expect(foreign.body["error_codes"]).toEqual([700021]);
    const audience = await postToken(TENANT_A, form(assertion(cert.key, { alg: "RS256", x5t: cert.x5t }, claims({ aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token" }))));
    expect(audience.body["error_codes"]).toEqual([50027]);
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = await postToken(TENANT_A, form(assertion(privateKey, { alg: "RS256", x5t: cert.x5t }, claims())));
    expect(forged).toMatchObject({ status: 401, body: { error: "invalid_client", error_codes: [700027] } });
    expect(String(forged.body["error_description"])).toContain("Client assertion failed signature validation.");
    const none = await postToken(TENANT_A, form(`${b64url({ alg: "none" })}.${b64url(claims())}.`));
    expect(none.body["error_codes"]).toEqual([5002738]);
  });
});

describe("FakeAadServer endpoints", () => {
  it("serves OIDC discovery per tenant (v2 and v1) and refuses unknown tenants", async () => {
    const v2 = (await (await fetch(`${aad.url}/${TENANT_A}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(v2["token_endpoint"]).toBe(`${aad.url}/${TENANT_A}/oauth2/v2.0/token`);
    expect(v2["issuer"]).toBe(`${aad.url}/${TENANT_A}/v2.0`);
    const v1 = (await (await fetch(`${aad.url}/${TENANT_A}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(v1["token_endpoint"]).toBe(`${aad.url}/${TENANT_A}/oauth2/token`);
    const unknown = await fetch(`${aad.url}/nobody.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Record<string, unknown>)["error"]).toBe("invalid_tenant");
  });

  it("serves the v1 token endpoint (resource, all-string times) and HTTP Basic client secrets", async () => {
    const v1 = await postToken(TENANT_A, { grant_type: "client_credentials", client_id: SECRET_APP, client_secret: "s3cret", resource: "https://vault.azure.net" }, "oauth2/token");
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ token_type: "Bearer", resource: "https://vault.azure.net" });
    expect(typeof v1.body["expires_on"]).toBe("string");
    const basic = await fetch(`${aad.url}/${TENANT_A}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${SECRET_APP}:s3cret`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: SECRET_APP, scope: ARM_SCOPE }),
    });
    expect(basic.status).toBe(200);
  });

  it("answers AAD's errors for malformed requests and injected faults", async () => {
    const base = { grant_type: "client_credentials", client_id: SECRET_APP, client_secret: "s3cret" };
    expect((await postToken(TENANT_A, { ...base, scope: "https://management.azure.com/user_impersonation" })).body["error_codes"]).toEqual([1002012]);
    expect((await postToken(TENANT_A, { ...base, grant_type: "password", scope: ARM_SCOPE })).body["error"]).toBe("unsupported_grant_type");
    expect((await postToken(TENANT_A, { grant_type: "client_credentials", client_id: SECRET_APP, scope: ARM_SCOPE })).body["error_codes"]).toEqual([7000218]);
    aad.failNext({ status: 503, error: "temporarily_unavailable", description: "AADSTS90033: A transient error has occurred." });
    const fault = await postToken(TENANT_A, { ...base, scope: ARM_SCOPE });
    expect(fault).toMatchObject({ status: 503, body: { error: "temporarily_unavailable", error_codes: [90033] } });
    expect((await postToken(TENANT_A, { ...base, scope: ARM_SCOPE })).status).toBe(200);
  });
});
