import { generateKeyPairSync } from "node:crypto";
import { ClientAssertionCredential, ClientCertificateCredential } from "@azure/identity";
import { formatUserAssignedIdentityId, type CatalogIdentity } from "@podid/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import { createClientCertificate } from "../tls/test-certificate-authority.js";
import { FakeAadServer, JWT_BEARER_ASSERTION_TYPE, fakeClientId } from "./fake-aad-server.js";
import { systemClock } from "./system-clock.js";
import { LoopbackOidcIssuer } from "./test-support/loopback-oidc-issuer.js";
import { authenticationRefusal } from "./test-support/authentication-refusal.js";

const TENANT = "cccccccc-3333-4333-8333-cccccccccccc";
const OTHER_TENANT = "dddddddd-4444-4444-8444-dddddddddddd";
const AUDIENCE = "api://AzureADTokenExchange";
const SUBJECT = "system:serviceaccount:team-a:web";
const VAULT_SCOPE = "https://vault.azure.net/.default";
const IDENTITY_ID = formatUserAssignedIdentityId({ subscriptionId: "s1", resourceGroup: "identities", name: "web" });

let issuer: LoopbackOidcIssuer;
let catalog: FakeIdentityCatalog;
let aad: FakeAadServer;
let identity: CatalogIdentity;

/** A credential presenting `token` as the client assertion, as NMI (or a workload) would. */
const credentialFor = (token: string, clientId = identity.clientId, tenant = TENANT): ClientAssertionCredential =>
  new ClientAssertionCredential(tenant, clientId, async () => token, { authorityHost: aad.url, disableInstanceDiscovery: true });

const saToken = (extra: Record<string, unknown> = {}) => issuer.mint({ sub: SUBJECT, aud: [AUDIENCE], ...extra });

beforeAll(async () => {
  issuer = await LoopbackOidcIssuer.start();
  catalog = new FakeIdentityCatalog({ clock: systemClock, tenantId: TENANT });
  identity = catalog.register(IDENTITY_ID);
  aad = await FakeAadServer.start({ catalog, tenants: [OTHER_TENANT] });
  catalog.federatedCredentials.add(IDENTITY_ID, "podid-team-a-web", { issuer: issuer.url, subject: SUBJECT, audiences: [AUDIENCE] });
});

afterAll(async () => {
  await Promise.all([aad.close(), issuer.close()]);
});

beforeEach(() => {
  aad.resetCounters();
});

afterEach(() => {
  catalog.federatedCredentials.setPropagationDelay(0);
  issuer.failDiscovery(false);
});

describe("FakeAadServer federated exchange with @azure/identity ClientAssertionCredential", () => {
  it("exchanges a service-account token for a token of the identity whose credential trusts it", async () => {
    const token = await credentialFor(saToken()).getToken(VAULT_SCOPE);
    const claims = decodeFakeJwt(token.token);
    expect(claims).toMatchObject({
      appid: identity.clientId,
      oid: identity.principalId,
      tid: TENANT,
      xms_mirid: IDENTITY_ID,
      aud: "https://vault.azure.net",
      iss: `https://sts.windows.net/${TENANT}/`,
    });
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_600_000);
    expect(aad.federatedExchanges).toEqual([
      expect.objectContaining({ outcome: "accepted", clientId: identity.clientId, identityId: IDENTITY_ID, credentialName: "podid-team-a-web", issuer: issuer.url, subject: SUBJECT, audiences: [AUDIENCE], resource: "https://vault.azure.net" }),
    ]);
    expect(aad.requestLog.find((e) => e.kind === "token")).toMatchObject({ credential: "client_assertion", status: 200 });
    expect(aad.tokens.issuedFor(identity.clientId)).toBeGreaterThanOrEqual(1);
  });

  it("answers in AAD's v2 shape, and its errors in AAD's error shape", async () => {
    const post = async (assertion: string) => {
      const res = await fetch(`${aad.url}/${TENANT}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: identity.clientId, scope: "https://management.azure.com/.default", client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: assertion }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const accepted = await post(saToken());
    expect(accepted.status).toBe(200);
    expect(Object.keys(accepted.body).sort()).toEqual(["access_token", "expires_in", "ext_expires_in", "token_type"]);
    expect(accepted.body).toMatchObject({ token_type: "Bearer", expires_in: expect.any(Number), ext_expires_in: expect.any(Number) });
    const refused = await post(saToken({ sub: "system:serviceaccount:team-a:other" }));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: "invalid_request",
      error_codes: [70021],
      timestamp: expect.any(String),
      trace_id: expect.any(String),
      correlation_id: expect.any(String),
    });
    expect(String(refused.body["error_description"])).toMatch(
      new RegExp(
        `^AADSTS70021: No matching federated identity record found for presented assertion\\. Assertion Issuer: '${issuer.url}'\\. ` +
          `Assertion Subject: 'system:serviceaccount:team-a:other'\\. Assertion Audience: '${AUDIENCE}'\\.\\r\\nTrace ID: `,
      ),
    );
  });

  it.each([
    ["another subject", () => saToken({ sub: "system:serviceaccount:team-b:web" }), "AADSTS70021", "noMatchingCredential"],
    ["the subject in another case", () => saToken({ sub: SUBJECT.toUpperCase() }), "AADSTS70021", "noMatchingCredential"],
    ["another issuer", () => saToken({ iss: `${issuer.url}/` }), "AADSTS70021", "noMatchingCredential"],
    ["another audience", () => saToken({ aud: ["api://something-else"] }), "AADSTS70021", "noMatchingCredential"],
    ["an expired token", () => saToken({ iat: now() - 7_200, nbf: now() - 7_200, exp: now() - 3_600 }), "AADSTS700024", "outsideValidity"],
    ["a token not valid yet", () => saToken({ nbf: now() + 3_600, exp: now() + 7_200 }), "AADSTS700024", "outsideValidity"],
    ["a signature by another key", () => issuer.mint({ sub: SUBJECT, aud: AUDIENCE }, { key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey }), "AADSTS50013", "badSignature"],
    ["a kid the issuer does not publish", () => issuer.mint({ sub: SUBJECT, aud: AUDIENCE }, { kid: "unknown-kid" }), "AADSTS50013", "keyNotFound"],
    ["an alg other than RS256", () => issuer.mint({ sub: SUBJECT, aud: AUDIENCE }, { alg: "PS256" }), "AADSTS5002738", "unsupportedAlgorithm"],
    ["not a JWT", () => "not-a-jwt", "AADSTS50027", "malformed"],
  ])("refuses %s", async (_what, assertion, code, reason) => {
    const e = await authenticationRefusal(credentialFor(assertion()).getToken(VAULT_SCOPE));
    expect(e.message).toContain(`${code}:`);
    expect(aad.federatedCounts()).toMatchObject({ accepted: 0, refused: 1, byReason: { [reason]: 1 } });
    expect(aad.counts().issued).toBe(0);
  });

  it("refuses an unknown client id and an identity of another tenant (AADSTS700016)", async () => {
    const unknown = await authenticationRefusal(credentialFor(saToken(), fakeClientId("nobody")).getToken(VAULT_SCOPE));
    expect(unknown.message).toContain("AADSTS700016:");
    const elsewhere = await authenticationRefusal(credentialFor(saToken(), identity.clientId, OTHER_TENANT).getToken(VAULT_SCOPE));
    expect(elsewhere.message).toContain(`AADSTS700016: Application with identifier '${identity.clientId}' was not found in the directory '${OTHER_TENANT}'`);
    expect(aad.federatedCounts().byReason).toEqual({ unknownClient: 2 });
  });

  it("answers AADSTS70021 until a new credential has propagated, then issues", async () => {
    catalog.federatedCredentials.setPropagationDelay(1_500);
    const subject = "system:serviceaccount:team-a:late";
    const written = await catalog.federatedCredentials.createOrUpdate(IDENTITY_ID, "podid-team-a-late", { issuer: issuer.url, subject, audiences: [AUDIENCE] });
    expect(written.ok).toBe(true);
    const early = await authenticationRefusal(credentialFor(saToken({ sub: subject })).getToken(VAULT_SCOPE));
    expect(early.message).toContain("AADSTS70021:");
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    const token = await credentialFor(saToken({ sub: subject })).getToken(VAULT_SCOPE);
    expect(decodeFakeJwt(token.token).xms_mirid).toBe(IDENTITY_ID);
    expect(aad.federatedExchanges.map((e) => e.reason ?? e.outcome)).toEqual(["noMatchingCredential", "accepted"]);
  });

  it("caches the issuer's discovery and keys, refetches for a new kid, and answers AADSTS50166 when the issuer cannot be read", async () => {
    aad.forgetIssuerKeys();
    const discovery = issuer.discoveryRequests;
    const fetches = aad.federatedCounts().issuerDocumentFetches;
    await credentialFor(saToken()).getToken(VAULT_SCOPE);
    await credentialFor(saToken()).getToken("https://management.azure.com/.default");
    expect(issuer.discoveryRequests - discovery).toBe(1);
    expect(aad.federatedCounts().issuerDocumentFetches - fetches).toBe(2); // discovery + JWKS once
    issuer.addKey("key-2"); // rotation: tokens now carry kid key-2, unknown to the cached set
    await credentialFor(saToken()).getToken(VAULT_SCOPE);
    expect(issuer.discoveryRequests - discovery).toBe(2);
    aad.forgetIssuerKeys();
    issuer.failDiscovery();
    const e = await authenticationRefusal(credentialFor(saToken()).getToken(VAULT_SCOPE));
    expect(e.message).toContain("AADSTS50166: Request to External OIDC endpoint failed.");
    expect(aad.federatedCounts().byReason).toEqual({ issuerUnreachable: 1 });
  });

  it("keeps application certificate assertions on the application path when a catalog is set", async () => {
    const cert = await createClientCertificate("fed-test-app");
    const appId = fakeClientId("fed-test-app");
    aad.registerApplication({ tenantId: TENANT, clientId: appId, certificatePem: cert.cert });
    const credential = new ClientCertificateCredential(TENANT, appId, { certificate: cert.combinedPem }, { authorityHost: aad.url, disableInstanceDiscovery: true });
    const token = await credential.getToken(VAULT_SCOPE);
    expect(decodeFakeJwt(token.token)).toMatchObject({ appid: appId, tid: TENANT });
    expect(aad.federatedExchanges).toEqual([]);
  });
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}
