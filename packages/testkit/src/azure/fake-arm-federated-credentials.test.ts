import { ManagedServiceIdentityClient, type FederatedIdentityCredential } from "@azure/arm-msi";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { isRestError, type RestError } from "@azure/core-rest-pipeline";
import { classifyArmError, formatUserAssignedIdentityId } from "@podid/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeCompute } from "../fakes/fake-compute.js";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { fakeGuid } from "../fakes/fake-ids.js";
import { encodeFakeJwt } from "../fakes/fake-jwt.js";
import { ARM_AUDIENCES, FakeArmServer } from "./fake-arm-server.js";
import { systemClock } from "./system-clock.js";

const SUB = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";
const RG = "identities";
const ISSUER = "https://oidc.example/cluster-1";
const AUDIENCE = "api://AzureADTokenExchange";

const uami = (name: string): string => formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: RG, name });
const fic = (subject: string, issuer = ISSUER): FederatedIdentityCredential => ({ issuer, subject, audiences: [AUDIENCE] });

/** Fake JWTs for the asked scope, as the fake AAD/IMDS mint them (the server checks audiences). */
const credential: TokenCredential = {
  getToken: async (scopes: string | string[]): Promise<AccessToken> => {
    const scope = Array.isArray(scopes) ? (scopes[0] ?? "") : scopes;
    const now = Math.floor(Date.now() / 1000);
    const claims = { aud: scope.replace(/\/\.default$/, ""), iss: "https://sts.windows.net/t/", appid: "mic", oid: "mic", sub: "mic", tid: "t" };
    return { token: encodeFakeJwt({ ...claims, iat: now, nbf: now, exp: now + 3600, uti: fakeGuid(`${now}${Math.random()}`), ver: "1.0" }), expiresOnTimestamp: (now + 3600) * 1000 };
  },
};

async function rejection(promise: PromiseLike<unknown>): Promise<RestError> {
  try {
    await promise;
  } catch (e) {
    if (isRestError(e)) return e;
    throw new Error(`expected a RestError, got ${String(e)}`);
  }
  throw new Error("expected the call to fail");
}

let catalog: FakeIdentityCatalog;
let arm: FakeArmServer;
let msi: ManagedServiceIdentityClient;
const newClient = (extra: object = {}): ManagedServiceIdentityClient =>
  new ManagedServiceIdentityClient(credential, SUB, { endpoint: arm.url, credentialScopes: ["https://management.azure.com/.default"], ...extra });

beforeAll(async () => {
  catalog = new FakeIdentityCatalog({ clock: systemClock });
  arm = await FakeArmServer.start({ compute: new FakeCompute({ clock: systemClock }), catalog, auth: { audiences: ARM_AUDIENCES }, pageSize: 2 });
  msi = newClient();
});

afterAll(async () => {
  await arm.close();
});

let identity: string;
let seq = 0;
beforeEach(() => {
  // A fresh identity per test: tests cannot see each other's credentials.
  identity = `web-${++seq}`;
  catalog.register(uami(identity));
  arm.resetCounters();
  catalog.federatedCredentials.resetCounters();
});

afterEach(() => {
  catalog.federatedCredentials.setWriteLatency(0);
  catalog.federatedCredentials.setWriteInterval(undefined);
});

describe("FakeArmServer federatedIdentityCredentials with @azure/arm-msi", () => {
  it("creates (201), reads, updates (200), lists and deletes (200, then 204) a credential", async () => {
    const created = await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", fic("system:serviceaccount:ns:a"));
    expect(created).toEqual({
      id: `${uami(identity)}/federatedIdentityCredentials/fic-a`,
      name: "fic-a",
      type: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
      issuer: ISSUER,
      subject: "system:serviceaccount:ns:a",
      audiences: [AUDIENCE],
    });
    expect(await msi.federatedIdentityCredentials.get(RG, identity, "FIC-A")).toMatchObject({ name: "fic-a", subject: "system:serviceaccount:ns:a" });
    const updated = await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", fic("system:serviceaccount:ns:b"));
    expect(updated.subject).toBe("system:serviceaccount:ns:b");
    const listed: FederatedIdentityCredential[] = [];
    for await (const item of msi.federatedIdentityCredentials.list(RG, identity)) listed.push(item);
    expect(listed.map((c) => [c.name, c.subject])).toEqual([["fic-a", "system:serviceaccount:ns:b"]]);
    await msi.federatedIdentityCredentials.delete(RG, identity, "fic-a");
    const gone = await rejection(msi.federatedIdentityCredentials.get(RG, identity, "fic-a"));
    expect([gone.statusCode, gone.code]).toEqual([404, "NotFound"]);
    await msi.federatedIdentityCredentials.delete(RG, identity, "fic-a"); // nothing to delete: 204, no error
    const statuses = arm.requestLog.map((e) => `${e.operation} ${e.status}`);
    expect(statuses).toEqual(["ficPut 201", "ficGet 200", "ficPut 200", "ficList 200", "ficDelete 200", "ficGet 404", "ficDelete 204"]);
    expect(new Set(arm.requestLog.map((e) => e.apiVersion))).toEqual(new Set(["2024-11-30"])); // @azure/arm-msi 2.2's default
    expect(catalog.federatedCredentials.counts()).toMatchObject({ creates: 1, updates: 1, deletes: 1, peakConcurrentWrites: 1 });
  });

  it("pages a list through nextLink", async () => {
    for (let i = 1; i <= 5; i++) await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, `fic-${i}`, fic(`s${i}`));
    const names: string[] = [];
    for await (const item of msi.federatedIdentityCredentials.list(RG, identity)) names.push(item.name ?? "");
    expect(names).toEqual(["fic-1", "fic-2", "fic-3", "fic-4", "fic-5"]);
    expect(arm.counts().byOperation.ficList).toBe(3); // pageSize 2
    const top = await msi.federatedIdentityCredentials.list(RG, identity, { top: 4 }).byPage().next();
    expect(top.value).toHaveLength(4);
  });

  it("refuses names outside Entra ID's pattern with 400", async () => {
    for (const name of ["ab", "-abc", "_abc", `a${"b".repeat(120)}`, "a.b.c"]) {
      const e = await rejection(msi.federatedIdentityCredentials.createOrUpdate(RG, identity, name, fic(`s-${name}`)));
      expect([e.statusCode, e.code, e.message]).toEqual([400, "BadRequest", `Federated Identity Credential name '${name}' is invalid.`]);
    }
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, `A1-_${"x".repeat(116)}`, fic("s-ok"));
  });

  it("refuses empty properties and audience lists other than exactly one with 400", async () => {
    const empty = await rejection(msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", {}));
    expect([empty.statusCode, empty.message]).toEqual([400, "Federated Identity Credential from HTTP body has empty properties."]);
    const noSubject = await rejection(msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", { issuer: ISSUER, audiences: [AUDIENCE] }));
    expect(noSubject.statusCode).toBe(400);
    for (const audiences of [[], [AUDIENCE, "api://other"]]) {
      const e = await rejection(msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", { ...fic("s"), audiences }));
      expect([e.statusCode, e.message]).toEqual([400, "Federated identity credentials must have exactly 1 audience."]);
    }
    expect(catalog.federatedCredentials.list(uami(identity))).toEqual({ ok: true, value: [] });
  });

  it("refuses a second credential with the same issuer and subject (400), exactly compared", async () => {
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", fic("system:serviceaccount:ns:a"));
    const e = await rejection(msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-b", fic("system:serviceaccount:ns:a")));
    expect([e.statusCode, e.code, e.message]).toEqual([400, "BadRequest", "Issuer and subject combination already exists for this Managed Identity."]);
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-c", fic("system:serviceaccount:ns:a", `${ISSUER}/`));
  });

  it("refuses the 21st credential of an identity with 400 and accepts updates at the cap", async () => {
    for (let i = 1; i <= 20; i++) await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, `fic-${i}`, fic(`s${i}`));
    const e = await rejection(msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-21", fic("s21")));
    expect([e.statusCode, e.code]).toEqual([400, "BadRequest"]);
    expect(e.message).toContain("maximum number of federated identity credentials (20)");
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-20", fic("s20-new"));
    await msi.federatedIdentityCredentials.delete(RG, identity, "fic-1");
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-21", fic("s21"));
  });

  it("answers 404 ParentResourceNotFound under an identity that does not exist", async () => {
    const calls: PromiseLike<unknown>[] = [
      msi.federatedIdentityCredentials.createOrUpdate(RG, "nobody", "fic-a", fic("s")),
      msi.federatedIdentityCredentials.get(RG, "nobody", "fic-a"),
      msi.federatedIdentityCredentials.delete(RG, "nobody", "fic-a"),
      msi.federatedIdentityCredentials.list(RG, "nobody").next(),
    ];
    for (const call of calls) {
      const e = await rejection(call);
      expect([e.statusCode, e.code]).toEqual([404, "ParentResourceNotFound"]);
    }
  });

  it("answers 409 to a write that overlaps another under the same identity, and records the overlap", async () => {
    catalog.federatedCredentials.setWriteLatency(300);
    const results = await Promise.allSettled([
      msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", fic("a")),
      msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-b", fic("b")),
    ]);
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const e = refused[0];
    if (!isRestError(e)) throw new Error(`expected a RestError, got ${String(e)}`);
    expect([e.statusCode, e.code]).toEqual([409, "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"]);
    expect(e.message).toContain(uami(identity).toLowerCase());
    expect(catalog.federatedCredentials.counts()).toMatchObject({ creates: 1, refused: { concurrentWrite: 1 }, peakConcurrentWrites: 2 });

    // The same two writes one after the other, and two writes under different identities at once, all pass.
    catalog.federatedCredentials.resetCounters();
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-c", fic("c"));
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-d", fic("d"));
    catalog.register(uami(`${identity}-other`));
    await Promise.all([
      msi.federatedIdentityCredentials.delete(RG, identity, "fic-c"),
      msi.federatedIdentityCredentials.createOrUpdate(RG, `${identity}-other`, "fic-e", fic("e")),
    ]);
    expect(catalog.federatedCredentials.counts()).toMatchObject({ creates: 3, deletes: 1, refused: {}, peakConcurrentWrites: 1 });
  });

  it("throttles creates/updates per identity with 429 + Retry-After, which the SDK honours by default", async () => {
    catalog.federatedCredentials.setWriteInterval(1_500);
    const noRetry = newClient({ retryOptions: { maxRetries: 0 } });
    await noRetry.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-a", fic("a"));
    const e = await rejection(noRetry.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-b", fic("b")));
    expect([e.statusCode, e.code, e.response?.headers.get("retry-after")]).toEqual([429, "TooManyRequests", "2"]);
    const classified = classifyArmError({ statusCode: 429, ...(e.code !== undefined ? { code: e.code } : {}), message: e.message, retryAfter: "2" }, Date.now());
    expect(classified.kind).toBe("throttled");
    const started = Date.now();
    await msi.federatedIdentityCredentials.createOrUpdate(RG, identity, "fic-b", fic("b")); // throttled once, retried after 1–2 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(arm.requestLog.filter((r) => r.operation === "ficPut").map((r) => r.status)).toEqual([201, 429, 429, 201]);
  }, 15_000); // waits out a 2 s Retry-After: too close to vitest's 5 s default on a busy machine
});
