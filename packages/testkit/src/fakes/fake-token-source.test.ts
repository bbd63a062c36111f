import { describe, expect, it } from "vitest";
import type { ImdsTokenBody, Result, TokenSourceError, TokenSourceRequest } from "@podid/core";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeCompute } from "./fake-compute.js";
import { FakeIdentityCatalog } from "./fake-identity-catalog.js";
import { decodeFakeJwt } from "./fake-jwt.js";
import { FakeTokenSource } from "./fake-token-source.js";

const RESOURCE = "https://management.azure.com/";

function uami(name: string): string {
  return `/subscriptions/s1/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

function mi(selector?: NonNullable<Extract<TokenSourceRequest, { kind: "managedIdentity" }>["selector"]>): TokenSourceRequest {
  return selector === undefined ? { kind: "managedIdentity", resource: RESOURCE } : { kind: "managedIdentity", resource: RESOURCE, selector };
}

function rejection(result: Result<ImdsTokenBody, TokenSourceError>): unknown {
  return result.ok ? undefined : result.error;
}

function setup(): { clock: VirtualClock; compute: FakeCompute; catalog: FakeIdentityCatalog; source: FakeTokenSource; target: ReturnType<FakeCompute["addVmss"]> } {
  const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
  const compute = new FakeCompute({ clock });
  const catalog = new FakeIdentityCatalog();
  const target = compute.addVmss({ subscriptionId: "s1", resourceGroup: "mc", name: "pool" }, { userAssigned: [uami("web")] });
  const source = new FakeTokenSource({ attachment: { compute, target }, catalog, clock });
  return { clock, compute, catalog, source, target };
}

describe("FakeTokenSource managed identities", () => {
  it("issues an IMDS-shaped token for an attached identity, whose claims name it", async () => {
    const { clock, catalog, source } = setup();
    const web = catalog.register(uami("web"));
    const result = await source.acquire(mi({ by: "client_id", value: web.clientId }));
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    const body = result.value;
    const nowSec = Math.floor(clock.now() / 1000);
    expect(body).toMatchObject({
      refresh_token: "",
      expires_in: "86399",
      expires_on: String(nowSec + 86399),
      not_before: String(nowSec),
      resource: RESOURCE,
      token_type: "Bearer",
      client_id: web.clientId,
    });
    expect(Object.values(body).every((v) => typeof v === "string")).toBe(true);
    const claims = decodeFakeJwt(body.access_token);
    expect(claims).toMatchObject({ aud: RESOURCE, appid: web.clientId, oid: web.principalId, tid: web.tenantId, xms_mirid: uami("web"), exp: nowSec + 86399 });
    expect(source.issuedFor(web.clientId)).toBe(1);
  });

  it("selects by object_id and msi_res_id (any case), echoing the selector", async () => {
    const { catalog, source } = setup();
    const web = catalog.register(uami("web"));
    const byOid = await source.acquire(mi({ by: "object_id", value: web.principalId }));
    expect(byOid.ok && byOid.value.object_id).toBe(web.principalId);
    const byRes = await source.acquire(mi({ by: "msi_res_id", value: uami("WEB").toUpperCase() }));
    expect(byRes.ok && decodeFakeJwt(byRes.value.access_token).oid).toBe(web.principalId);
    expect(byRes.ok && byRes.value.msi_res_id).toBe(uami("WEB").toUpperCase());
  });

  it("answers IMDS's 400 invalid_request 'Identity not found' for identities not on the VM, and follows attach/detach", async () => {
    const { compute, source, target } = setup();
    const expected = { kind: "rejected", status: 400, error: "invalid_request", description: "Identity not found" };
    expect(rejection(await source.acquire(mi({ by: "msi_res_id", value: uami("db") })))).toEqual(expected);
    compute.attachOutOfBand(target, uami("db"));
    expect((await source.acquire(mi({ by: "msi_res_id", value: uami("db") }))).ok).toBe(true);
    compute.detachOutOfBand(target, uami("web"));
    expect(rejection(await source.acquire(mi({ by: "msi_res_id", value: uami("web") })))).toEqual(expected);
    expect(source.counts()).toMatchObject({ calls: 3, issued: 1, rejected: 2 });
  });

  it("without a selector: system identity first, else the only user identity, else refuses", async () => {
    const { compute, source, target } = setup();
    const only = await source.acquire(mi());
    expect(only.ok && decodeFakeJwt(only.value.access_token).xms_mirid).toBe(uami("web"));
    compute.attachOutOfBand(target, uami("db"));
    expect(rejection(await source.acquire(mi()))).toMatchObject({ kind: "rejected", status: 400, error: "invalid_request" });
    compute.setSystemAssigned(target, true);
    const system = await source.acquire(mi());
    const claims = system.ok ? decodeFakeJwt(system.value.access_token) : undefined;
    expect(claims?.oid).toBe(compute.identitiesOf(target)?.systemAssignedPrincipalId);
    expect(claims?.xms_mirid).toBe("/subscriptions/s1/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/pool");
  });

  it("hides newly attached identities for the IMDS propagation delay", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const compute = new FakeCompute({ clock });
    const target = compute.addVm({ subscriptionId: "s1", resourceGroup: "mc", name: "vm" });
    const source = new FakeTokenSource({ attachment: { compute, target }, clock, imdsPropagationDelayMs: 5_000 });
    clock.advance(60_000);
    compute.attachOutOfBand(target, uami("web"));
    expect((await source.acquire(mi({ by: "msi_res_id", value: uami("web") }))).ok).toBe(false);
    clock.advance(5_000);
    expect((await source.acquire(mi({ by: "msi_res_id", value: uami("web") }))).ok).toBe(true);
  });

  it("allow-set mode works without a FakeCompute", async () => {
    const source = new FakeTokenSource({ clock: new VirtualClock() });
    expect((await source.acquire(mi({ by: "msi_res_id", value: uami("a") }))).ok).toBe(false);
    source.allow(uami("a"));
    expect((await source.acquire(mi({ by: "msi_res_id", value: uami("a") }))).ok).toBe(true);
    source.revoke(uami("A"));
    expect((await source.acquire(mi({ by: "msi_res_id", value: uami("a") }))).ok).toBe(false);
    source.allowSystemAssigned("sys-principal");
    const system = await source.acquire(mi());
    expect(system.ok && decodeFakeJwt(system.value.access_token).oid).toBe("sys-principal");
  });

  it("rejects an empty resource", async () => {
    const { source } = setup();
    expect(rejection(await source.acquire({ kind: "managedIdentity", resource: " " }))).toMatchObject({ status: 400, error: "invalid_request" });
  });
});

describe("FakeTokenSource service principals", () => {
  const cert = Uint8Array.of(1, 2, 3, 4);

  function spSource(): FakeTokenSource {
    const source = new FakeTokenSource({ clock: new VirtualClock() });
    source.registerServicePrincipal({ tenantId: "tenant-a", clientId: "app-1", secret: "s3cret", principalId: "sp-oid" });
    source.registerServicePrincipal({ tenantId: "tenant-a", clientId: "app-2", certificate: cert, password: "pw" });
    return source;
  }

  it("issues for the right secret and refuses wrong or unknown credentials like AAD", async () => {
    const source = spSource();
    const base = { kind: "servicePrincipalSecret", resource: RESOURCE, tenantId: "tenant-a", clientId: "app-1", auxiliaryTenantIds: [], authorityHost: "" } as const;
    const good = await source.acquire({ ...base, secret: "s3cret" });
    expect(good.ok && decodeFakeJwt(good.value.access_token)).toMatchObject({ appid: "app-1", oid: "sp-oid", tid: "tenant-a" });
    expect(good.ok && decodeFakeJwt(good.value.access_token).xms_mirid).toBeUndefined();
    expect(rejection(await source.acquire({ ...base, secret: "wrong" }))).toMatchObject({ status: 401, error: "invalid_client" });
    expect(rejection(await source.acquire({ ...base, clientId: "nobody", secret: "s3cret" }))).toMatchObject({ status: 400, error: "unauthorized_client" });
    expect(source.calls.every((c) => !JSON.stringify(c).includes("s3cret"))).toBe(true);
  });

  it("checks certificate bytes and password", async () => {
    const source = spSource();
    const base = { kind: "servicePrincipalCertificate", resource: RESOURCE, tenantId: "TENANT-A", clientId: "app-2", authorityHost: "" } as const;
    expect((await source.acquire({ ...base, certificate: Uint8Array.of(1, 2, 3, 4), password: "pw" })).ok).toBe(true);
    expect(rejection(await source.acquire({ ...base, certificate: Uint8Array.of(1, 2, 3, 5), password: "pw" }))).toMatchObject({ error: "invalid_client" });
    expect(rejection(await source.acquire({ ...base, certificate: cert, password: "" }))).toMatchObject({ error: "invalid_client" });
  });
});

describe("FakeTokenSource faults and latency", () => {
  it("injects throttling, unavailability and predicate faults in order", async () => {
    const { source } = setup();
    source.throttleNext(1, 2_000);
    source.unavailableNext(1);
    const stop = source.injectFault((r) => (r.resource.includes("vault") ? { kind: "unavailable", message: "aad down" } : undefined));
    const r1 = await source.acquire(mi());
    const r2 = await source.acquire(mi());
    const r3 = await source.acquire({ kind: "managedIdentity", resource: "https://vault.azure.net" });
    stop();
    const r4 = await source.acquire({ kind: "managedIdentity", resource: "https://vault.azure.net" });
    expect([r1, r2, r3, r4].map((r) => (r.ok ? "ok" : r.error.kind))).toEqual(["throttled", "unavailable", "unavailable", "ok"]);
    expect(source.counts()).toMatchObject({ throttled: 1, unavailable: 2, issued: 1 });
  });

  it("takes its latency in virtual time and turns an abort into unavailable", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const source = new FakeTokenSource({ clock, latencyMs: 300 });
    source.allowSystemAssigned();
    let answered = false;
    const pending = source.acquire(mi()).then((r) => {
      answered = r.ok;
    });
    await clock.advanceAsync(299);
    expect(answered).toBe(false);
    await clock.advanceAsync(1);
    await pending;
    expect(answered).toBe(true);

    const controller = new AbortController();
    const aborted = source.acquire(mi(), controller.signal);
    controller.abort();
    expect(rejection(await aborted)).toEqual({ kind: "unavailable", message: "request aborted" });
    expect(clock.pendingTimers()).toEqual([]);
  });

  it("every token is unique even for the same identity and instant", async () => {
    const { source } = setup();
    const a = await source.acquire(mi());
    const b = await source.acquire(mi());
    expect(a.ok && b.ok && a.value.access_token !== b.value.access_token).toBe(true);
  });
});

describe("FakeTokenSource federated requests (claims only)", () => {
  const ISSUER = "https://issuer.example/cluster";
  const SUBJECT = "system:serviceaccount:ns:web";
  const AUDIENCE = "api://AzureADTokenExchange";
  /** An unsigned JWT: the in-memory source checks claims only (the fake AAD server checks signatures). */
  const assertion = (claims: Record<string, unknown>) =>
    [{ alg: "RS256", kid: "k" }, { iss: ISSUER, sub: SUBJECT, aud: [AUDIENCE], exp: 1_700_003_600, nbf: 1_700_000_000, ...claims }, "sig"]
      .map((part) => Buffer.from(typeof part === "string" ? part : JSON.stringify(part)).toString("base64url"))
      .join(".");

  function federatedSetup() {
    const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
    const catalog = new FakeIdentityCatalog({ clock, tenantId: "t-1" });
    const identity = catalog.register(uami("fed"));
    catalog.federatedCredentials.add(uami("fed"), "fic-web", { issuer: ISSUER, subject: SUBJECT, audiences: [AUDIENCE] });
    const source = new FakeTokenSource({ catalog, clock });
    const request = (token: string, tenantId = "t-1", clientId = identity.clientId): TokenSourceRequest => ({
      kind: "federated",
      resource: RESOURCE,
      tenantId,
      clientId,
      authorityHost: "https://login.example",
      assertion: token,
    });
    return { clock, catalog, identity, source, request };
  }

  it("issues a token of the identity whose propagated credential matches issuer, subject and audience", async () => {
    const { identity, source, request } = federatedSetup();
    const result = await source.acquire(request(assertion({})));
    expect(result.ok && decodeFakeJwt(result.value.access_token)).toMatchObject({ appid: identity.clientId, xms_mirid: uami("fed"), tid: "t-1" });
    expect(source.calls[0]).toMatchObject({ kind: "federated", selector: identity.clientId, outcome: "ok" });
  });

  it("refuses with Entra ID's codes: no matching record, unknown client or tenant, outside the validity window", async () => {
    const { clock, source, request } = federatedSetup();
    const description = async (req: TokenSourceRequest) => (rejection(await source.acquire(req)) as { description?: string } | undefined)?.description ?? "";
    expect(await description(request(assertion({ sub: "system:serviceaccount:ns:other" })))).toMatch(/^AADSTS70021: .*Assertion Subject: 'system:serviceaccount:ns:other'/);
    expect(await description(request(assertion({ aud: "api://other" })))).toMatch(/^AADSTS70021:/);
    expect(await description(request(assertion({}), "t-2"))).toMatch(/^AADSTS700016:/);
    expect(await description(request(assertion({}), "t-1", "00000000-0000-4000-8000-000000000000"))).toMatch(/^AADSTS700016:/);
    expect(await description(request("not-a-jwt"))).toMatch(/^AADSTS50027:/);
    clock.advance(3_600_000 + 301_000);
    expect(await description(request(assertion({})))).toMatch(/^AADSTS700024:/);
    expect(await new FakeTokenSource({ clock }).acquire(request(assertion({})))).toMatchObject({ ok: false, error: { description: expect.stringMatching(/^AADSTS700016:/) } });
  });
});
