import { formatUserAssignedIdentityId, type TokenSourceRequest } from "@podid/core";
import { decodeFakeJwt, FederatedTestbed, type FakeAadServer, type FakeIdentityCatalog } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureTokenSource } from "./azure-token-source.js";

/**
 * The federated variant (type 3) of NMI's token source through the real `@azure/identity`
 * `ClientAssertionCredential`, against the loopback AAD, which verifies the assertion against the embedded
 * kube-apiserver's HTTPS discovery document and JWKS (docs/adr/0021-federated-identities.md).
 */
const TENANT = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";
const BEARER = "admin-token";
const VAULT = "https://vault.azure.net";
const IDENTITY_ID = formatUserAssignedIdentityId({ subscriptionId: "s1", resourceGroup: "identities", name: "fed-web" });

let bed: FederatedTestbed;
let aad: FakeAadServer;
let catalog: FakeIdentityCatalog;
let clientId: string;

/** A pod-bound token of `serviceAccount` in `apps` with Entra ID's audience, as kubelet projects it. */
const podToken = (serviceAccount: string): Promise<string> => bed.podToken("apps", serviceAccount);

const federated = (assertion: string, overrides: Partial<Extract<TokenSourceRequest, { kind: "federated" }>> = {}): TokenSourceRequest => ({
  kind: "federated",
  resource: VAULT,
  tenantId: TENANT,
  clientId,
  authorityHost: aad.url,
  assertion,
  ...overrides,
});

/** A token source with short AAD retries and the given propagation retry. */
const source = (budgetMs = 3_000) =>
  new AzureTokenSource({ aadRetry: { maxRetries: 0 }, federatedPropagationRetry: { budgetMs, initialDelayMs: 100, maxDelayMs: 400 } });

const trustServiceAccount = (serviceAccount: string, propagated = true) => bed.trust(IDENTITY_ID, "apps", serviceAccount, { propagated });

beforeAll(async () => {
  bed = await FederatedTestbed.start({ tenantId: TENANT, bearerToken: BEARER });
  ({ catalog, aad } = bed);
  clientId = catalog.register(IDENTITY_ID).clientId;
  await bed.createServiceAccounts("apps", ["web", "batch", "late", "never"]);
}, 30_000);

afterAll(async () => {
  await bed.close();
});

describe("AzureTokenSource: federated exchange (type 3)", () => {
  it("exchanges a pod's service-account token for the identity's token, IMDS-shaped", async () => {
    trustServiceAccount("web");
    const before = aad.federatedExchanges.length;
    const result = await source().acquire(federated(await podToken("web")));
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    const body = result.value;
    expect(body).toMatchObject({ resource: VAULT, token_type: "Bearer", client_id: clientId, refresh_token: "" });
    expect(Number(body.expires_on)).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(Number(body.expires_in)).toBeGreaterThan(3000);
    expect(decodeFakeJwt(body.access_token)).toMatchObject({ appid: clientId, xms_mirid: IDENTITY_ID, tid: TENANT, aud: VAULT });
    expect(aad.federatedExchanges.slice(before).map((e) => [e.outcome, e.subject])).toEqual([["accepted", "system:serviceaccount:apps:web"]]);
  });

  it("never serves one service account's token for another's assertion (credentials are per assertion)", async () => {
    trustServiceAccount("batch");
    const s = source(800);
    const web = await podToken("web");
    const before = aad.federatedExchanges.length;
    expect((await s.acquire(federated(web))).ok).toBe(true);
    expect((await s.acquire(federated(web))).ok).toBe(true);
    expect(aad.federatedExchanges.length - before).toBe(1);
    // A token of an untrusted service account is refused by Entra ID, even right after `web`'s was accepted.
    const never = await s.acquire(federated(await podToken("never")), undefined);
    expect(never).toMatchObject({ ok: false, error: { kind: "unavailable", message: expect.stringMatching(/AADSTS70021/) } });
    expect((await s.acquire(federated(await podToken("batch")))).ok).toBe(true);
  });

  it("retries AADSTS70021 while a new federated credential propagates, within its budget", async () => {
    catalog.federatedCredentials.setPropagationDelay(700);
    try {
      trustServiceAccount("late", false);
      const assertion = await podToken("late");
      const before = aad.federatedExchanges.length;
      const started = Date.now();
      const result = await source(5_000).acquire(federated(assertion));
      expect(result.ok).toBe(true);
      const exchanges = aad.federatedExchanges.slice(before);
      expect(exchanges.length).toBeGreaterThan(1);
      expect(exchanges.slice(0, -1).every((e) => e.reason === "noMatchingCredential")).toBe(true);
      expect(exchanges.at(-1)?.outcome).toBe("accepted");
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    } finally {
      catalog.federatedCredentials.setPropagationDelay(0);
    }
  });

  it("gives up on AADSTS70021 once the budget is spent: unavailable (503), never a cached refusal", async () => {
    const assertion = await podToken("never");
    const before = aad.federatedExchanges.length;
    const started = Date.now();
    const result = await source(500).acquire(federated(assertion));
    expect(result).toMatchObject({ ok: false, error: { kind: "unavailable", message: expect.stringMatching(/AADSTS70021/) } });
    expect(Date.now() - started).toBeLessThan(3_000);
    const tries = aad.federatedExchanges.length - before;
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(tries).toBeLessThanOrEqual(4);
  });

  it("stops retrying when the request is cancelled", async () => {
    const controller = new AbortController();
    const pending = source(60_000).acquire(federated(await podToken("never")), controller.signal);
    setTimeout(() => controller.abort(new Error("client went away")), 300);
    const started = Date.now();
    expect(await pending).toMatchObject({ ok: false, error: { kind: "unavailable" } });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers other refusals as rejected at once (NMI's 403) and an unreachable authority as unavailable", async () => {
    const assertion = await podToken("web");
    const before = aad.federatedExchanges.length;
    const unknownClient = await source().acquire(federated(assertion, { clientId: "00000000-0000-4000-8000-00000000dead" }));
    expect(unknownClient).toMatchObject({ ok: false, error: { kind: "rejected", status: 400, description: expect.stringMatching(/AADSTS700016: Application with identifier/) } });
    expect(aad.federatedExchanges.length - before).toBe(1);
    const unreachable = await source().acquire(federated(assertion, { authorityHost: "https://127.0.0.1:1" }));
    expect(unreachable).toMatchObject({ ok: false, error: { kind: "unavailable" } });
  });
});
