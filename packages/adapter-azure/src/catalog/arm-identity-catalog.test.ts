import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { formatUserAssignedIdentityId } from "@podid/core";
import { ARM_AUDIENCES, FakeAadServer, FakeArmServer, FakeCompute, FakeIdentityCatalog, TestCertificateAuthority } from "@podid/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseAzureJsonConfig } from "../config/load-azure-config.js";
import { createArmCredential } from "../credentials/arm-credential.js";
import { armClientSettings } from "../compute/arm-client-settings.js";
import { ArmIdentityCatalog, toCatalogError } from "./arm-identity-catalog.js";
import type { AzureConfig } from "../config/azure-config.js";

const SUB = "2b3c4d5e-6f70-4819-8a2b-3c4d5e6f7081";
const TENANT = "4d5e6f70-8192-4a3b-9c4d-5e6f70819203";
const uami = (name: string, rg = "identities") => formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: rg, name });

let catalog: FakeIdentityCatalog;
let arm: FakeArmServer;
let aad: FakeAadServer;
let config: AzureConfig;
let lookups: ArmIdentityCatalog;
let skewMs = 0;

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  catalog = new FakeIdentityCatalog();
  aad = await FakeAadServer.start({ ca });
  aad.registerApplication({ tenantId: TENANT, clientId: "mic", secret: "s3cret" });
  arm = await FakeArmServer.start({ ca, compute: new FakeCompute(), catalog, auth: { audiences: ARM_AUDIENCES } });
  const parsed = await parseAzureJsonConfig(
    JSON.stringify({ tenantId: TENANT, aadClientId: "mic", aadClientSecret: "s3cret", subscriptionId: SUB, resourceManagerEndpoint: arm.url, activeDirectoryEndpoint: aad.url }),
    "azure.json",
    {},
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  config = parsed.value;
  lookups = new ArmIdentityCatalog({
    credential: createArmCredential(config),
    ...armClientSettings(config, { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 10 }),
    now: () => Date.now() + skewMs,
  });
});

afterAll(async () => {
  await arm?.close();
  await aad?.close();
});

beforeEach(() => {
  skewMs += 3_600_000;
  arm.resetCounters();
});

describe("ArmIdentityCatalog against the fake ARM", () => {
  it("reads client, principal and tenant ids of an identity, whatever the id's case", async () => {
    const record = catalog.register({ id: uami("web"), tenantId: TENANT });
    const expected = { ok: true, value: { id: uami("web"), clientId: record.clientId, principalId: record.principalId, tenantId: TENANT } };
    expect(await lookups.getUserAssignedIdentity(uami("web"))).toEqual(expected);
    expect(await lookups.getUserAssignedIdentity(uami("web").toLowerCase())).toMatchObject({ ok: true, value: { clientId: record.clientId } });
  });

  it("reports a missing identity as notFound, and a malformed id without calling ARM", async () => {
    expect(await lookups.getUserAssignedIdentity(uami("nobody"))).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(arm.counts().byOperation.identityGet).toBe(1);
    expect(await lookups.getUserAssignedIdentity("/subscriptions/x/resourceGroups/y")).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(arm.counts().requests).toBe(1);
  });

  it("reports 403 as forbidden and 500 as transient", async () => {
    catalog.register(uami("locked"));
    arm.failNext("identityGet", { status: 403, code: "AuthorizationFailed", message: "no read permission" });
    expect(await lookups.getUserAssignedIdentity(uami("locked"))).toMatchObject({ ok: false, error: { kind: "forbidden" } });
    arm.failNext("identityGet", { status: 500, code: "InternalServerError", message: "boom" }, 2);
    expect(await lookups.getUserAssignedIdentity(uami("locked"))).toMatchObject({ ok: false, error: { kind: "transient" } });
    expect(arm.counts().byStatus["500"]).toBe(2); // one SDK retry (maxRetries 1) for a 5xx
  });

  it("after a 429 fails fast for its Retry-After instead of asking ARM", async () => {
    catalog.register(uami("busy"));
    arm.failNext("identityGet", { status: 429, code: "TooManyRequests", message: "slow down", headers: { "retry-after": "12" } });
    expect(await lookups.getUserAssignedIdentity(uami("busy"))).toMatchObject({ ok: false, error: { kind: "throttled", retryAfterMs: 12_000 } });
    for (let i = 0; i < 10; i += 1) {
      expect(await lookups.getUserAssignedIdentity(uami("busy"))).toMatchObject({ ok: false, error: { kind: "throttled" } });
    }
    expect(arm.counts().byOperation.identityGet).toBe(1);
    skewMs += 13_000;
    expect(await lookups.getUserAssignedIdentity(uami("busy"))).toMatchObject({ ok: true });
  });

  it("asks for tokens with the cloud's ARM scope (arm-msi would derive it from the endpoint and be refused)", async () => {
    catalog.register(uami("scoped"));
    const naive = new ManagedServiceIdentityClient(createArmCredential(config), SUB, { endpoint: arm.url, retryOptions: { maxRetries: 0 } });
    await expect(naive.userAssignedIdentities.get("identities", "scoped")).rejects.toMatchObject({ statusCode: 401, code: "InvalidAuthenticationTokenAudience" });
    expect(await lookups.getUserAssignedIdentity(uami("scoped"))).toMatchObject({ ok: true });
  });

  it("maps every compute error kind to a catalogue error kind", () => {
    expect(toCatalogError({ kind: "conflict", message: "m" })).toEqual({ kind: "transient", message: "m" });
    expect(toCatalogError({ kind: "forbiddenIdentities", identityKeys: [], message: "m" })).toEqual({ kind: "forbidden", message: "m" });
    expect(toCatalogError({ kind: "throttled", retryAfterMs: 5, scope: "subscription", message: "m" })).toEqual({ kind: "throttled", retryAfterMs: 5, message: "m" });
  });
});
