import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { formatUserAssignedIdentityId, identityKey, type ComputeTarget } from "@podid/core";
import { decodeFakeJwt, FakeCompute, FakeIdentityCatalog, FakeImdsServer } from "@podid/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_IMDS_ENDPOINT, ImdsClient, metadataEndpoint } from "./imds-client.js";
import { ImdsCredential, ImdsCredentialError, scopeToResource } from "./imds-credential.js";

const SUB = "3c4d5e6f-7081-4a92-8b3c-4d5e6f708192";
const uami = (name: string) => formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: "ids", name });
const ARM = "https://management.azure.com/";

let compute: FakeCompute;
let catalog: FakeIdentityCatalog;
let node: ComputeTarget;
let imds: FakeImdsServer;
let client: ImdsClient;

beforeAll(async () => {
  compute = new FakeCompute();
  catalog = new FakeIdentityCatalog();
  node = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "pool" }, { systemAssigned: true, userAssigned: [uami("web")] });
  imds = await FakeImdsServer.start({ compute, target: node, catalog, throttle: false });
  client = new ImdsClient({ endpoint: imds.url, timeoutMs: 2_000 });
});

afterAll(async () => {
  await imds?.close();
});

beforeEach(() => imds.resetCounters());

describe("ImdsClient against the fake IMDS", () => {
  it("gets a token of an attached identity by client id, passing IMDS's all-string body through", async () => {
    const web = catalog.lookup(uami("web")) ?? catalog.register(uami("web"));
    const result = await client.token({ kind: "managedIdentity", resource: ARM, selector: { by: "client_id", value: web.clientId } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const body = result.value;
    for (const value of Object.values(body)) expect(typeof value).toBe("string");
    expect(body).toMatchObject({ client_id: web.clientId, resource: ARM, token_type: "Bearer" });
    expect(Number(body.expires_on)).toBeGreaterThan(Date.now() / 1000);
    const claims = decodeFakeJwt(body.access_token);
    expect(claims).toMatchObject({ appid: web.clientId, oid: web.principalId, aud: ARM });
    expect(claims.xms_mirid?.toLowerCase()).toBe(identityKey(uami("web")));
    // The request carried Metadata: true and no X-Forwarded-For (the fake refuses either mistake with 400).
    expect(imds.requestLog[0]).toMatchObject({ status: 200 });
    expect(imds.requestLog[0]?.url).toContain(`client_id=${web.clientId}`);
  });

  it("selects by ARM id or object id, and gets the system-assigned identity without a selector", async () => {
    const web = catalog.lookup(uami("web")) ?? catalog.register(uami("web"));
    const byId = await client.token({ kind: "managedIdentity", resource: ARM, selector: { by: "msi_res_id", value: uami("web") } });
    const byObject = await client.token({ kind: "managedIdentity", resource: ARM, selector: { by: "object_id", value: web.principalId } });
    expect(byId.ok && decodeFakeJwt(byId.value.access_token).appid).toBe(web.clientId);
    expect(byObject.ok && decodeFakeJwt(byObject.value.access_token).appid).toBe(web.clientId);
    const system = await client.token({ kind: "managedIdentity", resource: ARM });
    expect(system.ok && decodeFakeJwt(system.value.access_token).oid).toBe(compute.identitiesOf(node)?.systemAssignedPrincipalId);
  });

  it("reports an identity that is not on the node as rejected with IMDS's 400 'Identity not found', and serves it once attached", async () => {
    const db = catalog.register(uami("db"));
    expect(await client.token({ kind: "managedIdentity", resource: ARM, selector: { by: "client_id", value: db.clientId } })).toEqual({
      ok: false,
      error: { kind: "rejected", status: 400, error: "invalid_request", description: "Identity not found" },
    });
    compute.attachOutOfBand(node, uami("db"));
    expect(await client.token({ kind: "managedIdentity", resource: ARM, selector: { by: "client_id", value: db.clientId } })).toMatchObject({ ok: true });
    compute.detachOutOfBand(node, uami("db"));
  });

  it("passes unknown fields through and normalises numbers to strings", async () => {
    imds.failNext({ status: 200, body: { access_token: "a.b.c", expires_in: 3599, ext_expires_in: 3599, resource: ARM, token_type: "Bearer", x_custom: true } });
    const result = await client.token({ kind: "managedIdentity", resource: ARM, selector: { by: "client_id", value: "cid" } });
    expect(result).toMatchObject({ ok: true, value: { expires_in: "3599", ext_expires_in: "3599", x_custom: "true", client_id: "cid", refresh_token: "" } });
    expect(result.ok && Number(result.value.expires_on) - Math.floor(Date.now() / 1000)).toBeGreaterThan(3590);
  });

  it("classifies IMDS failures: 429 throttled, 404/410/5xx unavailable, other 4xx rejected, garbage unavailable", async () => {
    const ask = () => client.token({ kind: "managedIdentity", resource: ARM });
    imds.failNext({ status: 429, body: { error: "too_many_requests", error_description: "slow" }, headers: { "retry-after": "3" } });
    expect(await ask()).toMatchObject({ ok: false, error: { kind: "throttled", retryAfterMs: 3_000 } });
    imds.failNext({ status: 429, body: {} });
    expect(await ask()).toMatchObject({ ok: false, error: { kind: "throttled", retryAfterMs: 1_000 } });
    for (const status of [404, 410, 500, 503]) {
      imds.failNext({ status, body: { error: "x", error_description: "y" } });
      expect(await ask()).toMatchObject({ ok: false, error: { kind: "unavailable" } });
    }
    imds.failNext({ status: 403, body: { error: "forbidden", error_description: "no" } });
    expect(await ask()).toEqual({ ok: false, error: { kind: "rejected", status: 403, error: "forbidden", description: "no" } });
    imds.failNext({ status: 200, body: { no_token: true } });
    expect(await ask()).toMatchObject({ ok: false, error: { kind: "unavailable" } });
  });

  it("reports an unreachable or slow IMDS, and a cancelled request, as unavailable", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const slow = new ImdsClient({ endpoint: `http://127.0.0.1:${port}`, timeoutMs: 100 });
      expect(await slow.token({ kind: "managedIdentity", resource: ARM })).toMatchObject({ ok: false, error: { kind: "unavailable", message: expect.stringMatching(/100 ms/) as unknown as string } });
      const controller = new AbortController();
      const pending = new ImdsClient({ endpoint: `http://127.0.0.1:${port}` }).token({ kind: "managedIdentity", resource: ARM }, controller.signal);
      controller.abort(new Error("pod went away"));
      expect(await pending).toMatchObject({ ok: false, error: { kind: "unavailable", message: expect.stringMatching(/pod went away/) as unknown as string } });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
    expect(await new ImdsClient({ endpoint: "http://127.0.0.1:1" }).token({ kind: "managedIdentity", resource: ARM })).toMatchObject({ ok: false, error: { kind: "unavailable" } });
  });

  it("sends only Metadata and Accept — never X-Forwarded-For or anything naming a caller", async () => {
    let seen: IncomingHttpHeaders = {};
    const recorder = createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: "t", expires_on: "2000000000" }));
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
    try {
      const port = (recorder.address() as AddressInfo).port;
      await new ImdsClient({ endpoint: `http://127.0.0.1:${port}/` }).token({ kind: "managedIdentity", resource: ARM });
      expect(seen["metadata"]).toBe("true");
      expect(Object.keys(seen).filter((h) => /forward|^via$|x-real-ip|client-ip/i.test(h))).toEqual([]);
    } finally {
      recorder.close();
    }
  });
});

describe("ImdsCredential", () => {
  it("serves ARM tokens of the node's user-assigned or system-assigned identity and caches them", async () => {
    const web = catalog.lookup(uami("web")) ?? catalog.register(uami("web"));
    const user = new ImdsCredential(client, web.clientId);
    const token = await user.getToken("https://management.azure.com/.default");
    expect(token !== null && decodeFakeJwt(token.token)).toMatchObject({ appid: web.clientId, aud: "https://management.azure.com" });
    expect(token?.expiresOnTimestamp).toBeGreaterThan(Date.now());
    await user.getToken(["https://management.azure.com/.default"]);
    expect(imds.counts().issued).toBe(1);
    const system = await new ImdsCredential(client).getToken("https://management.azure.com/.default");
    expect(system !== null && decodeFakeJwt(system.token).oid).toBe(compute.identitiesOf(node)?.systemAssignedPrincipalId);
    await expect(new ImdsCredential(client, "not-attached").getToken("https://management.azure.com/.default")).rejects.toBeInstanceOf(ImdsCredentialError);
    expect(scopeToResource(["https://vault.azure.net/.default"])).toBe("https://vault.azure.net");
  });
});

describe("metadataEndpoint", () => {
  it("builds the base URL from NMI's --metadata-ip/--metadata-port", () => {
    expect(metadataEndpoint("169.254.169.254", 80)).toBe(DEFAULT_IMDS_ENDPOINT);
    expect(metadataEndpoint("127.0.0.1", "8080")).toBe("http://127.0.0.1:8080");
    expect(metadataEndpoint("fd00::1", 80)).toBe("http://[fd00::1]");
    expect(new ImdsClient({ endpoint: metadataEndpoint("fd00::1", 81) }).tokenUrl({ kind: "managedIdentity", resource: "r" }).host).toBe("[fd00::1]:81");
  });
});
