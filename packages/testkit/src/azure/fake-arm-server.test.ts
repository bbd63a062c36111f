import { ComputeManagementClient, type VirtualMachineUpdate } from "@azure/arm-compute";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { isRestError, type RestError } from "@azure/core-rest-pipeline";
import { classifyArmError, formatUserAssignedIdentityId, type ComputeTarget } from "@podid/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeCompute } from "../fakes/fake-compute.js";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { fakeGuid } from "../fakes/fake-ids.js";
import { encodeFakeJwt } from "../fakes/fake-jwt.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { ARM_AUDIENCES, FakeArmServer } from "./fake-arm-server.js";
import { systemClock } from "./system-clock.js";

const SUB = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";
const RG = "MC_rg_cluster_westeurope";
const ID_RG = "identities";

function uami(name: string, rg = ID_RG, sub = SUB): string {
  return formatUserAssignedIdentityId({ subscriptionId: sub, resourceGroup: rg, name });
}

/** A credential minting fake JWTs for the scope asked, like the fake AAD/IMDS would. */
function fakeArmCredential(audienceOverride?: string): TokenCredential {
  return {
    getToken: async (scopes: string | string[]): Promise<AccessToken> => {
      const scope = Array.isArray(scopes) ? (scopes[0] ?? "") : scopes;
      const now = Math.floor(Date.now() / 1000);
      const token = encodeFakeJwt({
        aud: audienceOverride ?? scope.replace(/\/\.default$/, ""),
        iss: "https://sts.windows.net/tenant/",
        appid: "mic",
        oid: "mic",
        sub: "mic",
        tid: "tenant",
        iat: now,
        nbf: now,
        exp: now + 3600,
        uti: fakeGuid(`t${now}${Math.random()}`),
        ver: "1.0",
      });
      return { token, expiresOnTimestamp: (now + 3600) * 1000 };
    },
  };
}

function restError(e: unknown): RestError {
  if (!isRestError(e)) throw new Error(`expected a RestError, got ${String(e)}`);
  return e;
}

async function rejection(promise: PromiseLike<unknown>): Promise<RestError> {
  try {
    await promise;
  } catch (e) {
    return restError(e);
  }
  throw new Error("expected the call to fail");
}

function classify(e: RestError) {
  return classifyArmError(
    {
      statusCode: e.statusCode ?? 0,
      ...(e.code !== undefined ? { code: e.code } : {}),
      message: e.message,
      ...(e.response?.headers.get("retry-after") !== undefined ? { retryAfter: e.response?.headers.get("retry-after") ?? "" } : {}),
    },
    Date.now(),
  );
}

const attach = (...ids: string[]): VirtualMachineUpdate => ({
  identity: { type: "UserAssigned", userAssignedIdentities: Object.fromEntries(ids.map((id) => [id, {}])) },
});

let compute: FakeCompute;
let catalog: FakeIdentityCatalog;
let server: FakeArmServer;
let client: ComputeManagementClient;
let vm: ComputeTarget;
let vmss: ComputeTarget;
let slowVmss: ComputeTarget;
const poll = { updateIntervalInMs: 5 };

beforeAll(async () => {
  compute = new FakeCompute({
    clock: systemClock,
    patchLatencyMs: (t) => (t.name === "slow-vmss" ? 400 : 15),
    oneOperationAtATimePerTarget: true,
    busyPolicy: "conflict",
  });
  catalog = new FakeIdentityCatalog();
  for (const name of ["a", "b", "c", "d", "e"]) catalog.register(uami(name));
  catalog.register(uami("other-rg", "elsewhere"));
  server = await FakeArmServer.start({
    ca: TestCertificateAuthority.fromEnvironment(),
    compute,
    catalog,
    auth: { audiences: ARM_AUDIENCES },
    pageSize: 2,
  });
  client = new ComputeManagementClient(fakeArmCredential(), SUB, {
    endpoint: server.url,
    retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });
});

beforeEach(() => {
  vm = compute.addVm({ subscriptionId: SUB, resourceGroup: RG, name: "vm-0" }, { systemAssigned: true, userAssigned: [uami("a")] });
  vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "aks-pool-vmss" });
  slowVmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "slow-vmss" });
  server.resetCounters();
});

afterAll(async () => {
  await server.close();
});

describe("FakeArmServer with the real @azure/arm-compute", () => {
  it("GETs a VM in ARM's shape: identity block with principal/client ids, etag, provisioningState", async () => {
    const got = await client.virtualMachines.get(RG, "vm-0");
    const snapshot = compute.identitiesOf(vm);
    expect(got.id?.toLowerCase()).toBe(`/subscriptions/${SUB}/resourcegroups/${RG}/providers/microsoft.compute/virtualmachines/vm-0`.toLowerCase());
    expect(got.identity?.type).toBe("SystemAssigned, UserAssigned");
    expect(got.identity?.principalId).toBe(snapshot?.systemAssignedPrincipalId);
    const record = catalog.lookup(uami("a"));
    expect(got.identity?.userAssignedIdentities?.[uami("a")]).toEqual({ principalId: record?.principalId, clientId: record?.clientId });
    expect(got.etag).toBe(snapshot?.etag);
    expect(got.provisioningState).toBe("Succeeded");
    expect(server.counts().byOperation.vmGet).toBe(1);
  });

  it("PATCHes a VM through a long-running operation (Azure-AsyncOperation polls, then the final GET)", async () => {
    const updated = await client.virtualMachines.update(RG, "vm-0", { identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [uami("b")]: {} } } }, poll);
    expect(Object.keys(updated.identity?.userAssignedIdentities ?? {}).sort()).toEqual([uami("a"), uami("b")]);
    expect(updated.identity?.type).toBe("SystemAssigned, UserAssigned");
    expect(compute.identitiesOf(vm)?.userAssignedKeys).toEqual([uami("a").toLowerCase(), uami("b").toLowerCase()]);
    const counts = server.counts();
    expect(counts.byOperation).toMatchObject({ vmPatch: 1, vmGet: 1 });
    expect(counts.byOperation.operationStatus).toBeGreaterThanOrEqual(2); // at least one InProgress, then Succeeded
    expect(counts.byStatus["202"]).toBe(1);
    expect(counts.operations).toEqual({ started: 1, succeeded: 1, failed: 0, pending: 0 });
    expect(compute.counts().patches).toBeGreaterThan(0);
  });

  it("merges the VMSS identity map: null detaches, the last removal sends type alone, system identity kept", async () => {
    await client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", attach(uami("a"), uami("b")), poll);
    const detach = { identity: { type: "UserAssigned", userAssignedIdentities: { [uami("A").toUpperCase()]: null } } } as unknown as VirtualMachineUpdate;
    const after = await client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", detach, poll);
    expect(Object.keys(after.identity?.userAssignedIdentities ?? {})).toEqual([uami("b")]);
    const none = await client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", { identity: { type: "None" } }, poll);
    expect(none.identity).toBeUndefined();
    expect(compute.identitiesOf(vmss)?.type).toBe("None");

    const onVm = await client.virtualMachines.update(RG, "vm-0", { identity: { type: "SystemAssigned" } }, poll);
    expect(onVm.identity).toMatchObject({ type: "SystemAssigned", principalId: compute.identitiesOf(vm)?.systemAssignedPrincipalId });
  });

  it("answers a stale If-Match with 412 and a current one with success", async () => {
    const before = await client.virtualMachines.get(RG, "vm-0");
    compute.attachOutOfBand(vm, uami("c")); // someone else changed the VM: the etag moves
    const stale = await rejection(client.virtualMachines.update(RG, "vm-0", attach(uami("b")), { ...poll, ifMatch: before.etag ?? "" }));
    expect(stale.statusCode).toBe(412);
    expect(classify(stale).kind).toBe("preconditionFailed");
    const fresh = await client.virtualMachines.get(RG, "vm-0");
    const ok = await client.virtualMachines.update(RG, "vm-0", { identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [uami("b")]: {} } } }, { ...poll, ifMatch: fresh.etag ?? "" });
    expect(Object.keys(ok.identity?.userAssignedIdentities ?? {})).toHaveLength(3);
  });

  it("throttles with 429 + Retry-After, which the SDK honours and retries", async () => {
    compute.throttle(vm, { retryAfterMs: 1000, count: 1, ops: ["get"] });
    const started = Date.now();
    const got = await client.virtualMachines.get(RG, "vm-0");
    expect(got.name).toBe("vm-0");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.counts().byStatus).toMatchObject({ "429": 1, "200": 1 });
    const throttled = server.requestLog.find((r) => r.status === 429);
    expect(throttled?.code).toBe("TooManyRequests");

    // A subscription-wide throttle names the subscription in its code, so classifyArmError scopes it.
    compute.throttle("all", { retryAfterMs: 7000, count: 1, ops: ["get"] });
    const noRetry = new ComputeManagementClient(fakeArmCredential(), SUB, { endpoint: server.url, retryOptions: { maxRetries: 0 } });
    const e = await rejection(noRetry.virtualMachines.get(RG, "vm-0"));
    expect(e.statusCode).toBe(429);
    expect(e.response?.headers.get("retry-after")).toBe("7");
    expect(classify(e)).toMatchObject({ kind: "throttled", retryAfterMs: 7000, scope: "subscription" });
  });

  it("answers 409 OperationNotAllowed while another operation runs on the same scale set", async () => {
    const first = client.virtualMachineScaleSets.update(RG, "slow-vmss", attach(uami("a")), poll);
    // Wait until the first PATCH was accepted and its 400 ms operation runs.
    for (let i = 0; i < 400 && compute.identitiesOf(slowVmss)?.provisioningState !== "Updating"; i++) await new Promise((r) => setTimeout(r, 5));
    expect(compute.identitiesOf(slowVmss)?.provisioningState).toBe("Updating");
    const second = await rejection(client.virtualMachineScaleSets.update(RG, "slow-vmss", attach(uami("b")), poll));
    expect(second.statusCode).toBe(409);
    expect(second.code).toBe("OperationNotAllowed");
    expect(classify(second).kind).toBe("conflict");
    const done = await first;
    expect(Object.keys(done.identity?.userAssignedIdentities ?? {})).toEqual([uami("a")]);
    expect(compute.identitiesOf(slowVmss)?.userAssignedKeys).toEqual([uami("a").toLowerCase()]);
  });

  it("refuses a batch with an unauthorised identity with 403 LinkedAuthorizationFailed naming it (nothing applied)", async () => {
    compute.forbidIdentities([uami("c")]);
    try {
      const e = await rejection(client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", attach(uami("b"), uami("c")), poll));
      expect(e.statusCode).toBe(403);
      expect(e.code).toBe("LinkedAuthorizationFailed");
      expect(e.message).toContain(`on the linked scope(s) '${uami("c")}'`);
      expect(classify(e)).toEqual({ kind: "forbiddenIdentities", identityKeys: [uami("c").toLowerCase()], message: e.message });
      expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
      // Without the refused identity the rest lands.
      const ok = await client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", attach(uami("b")), poll);
      expect(Object.keys(ok.identity?.userAssignedIdentities ?? {})).toEqual([uami("b")]);
    } finally {
      compute.allowIdentities([uami("c")]);
    }
  });

  it("refuses deleted identities with 400 FailedIdentityOperation, and the identity GET answers 404", async () => {
    const ghost = uami("deleted-one");
    catalog.register(ghost);
    server.deleteIdentity(ghost);
    try {
      const e = await rejection(client.virtualMachines.update(RG, "vm-0", attach(ghost), poll));
      expect(e.statusCode).toBe(400);
      expect(e.code).toBe("FailedIdentityOperation");
      expect(classify(e)).toMatchObject({ kind: "invalidIdentities", identityKeys: [ghost.toLowerCase()] });
      const msi = new ManagedServiceIdentityClient(fakeArmCredential(), SUB, {
        endpoint: server.url,
        credentialScopes: ["https://management.azure.com/.default"],
      });
      const notFound = await rejection(msi.userAssignedIdentities.get(ID_RG, "deleted-one"));
      expect(notFound.statusCode).toBe(404);
      expect(notFound.code).toBe("ResourceNotFound");
    } finally {
      compute.restoreIdentities([ghost]);
    }
  });

  it("refuses more than 150 identities in one request with ARM's message", async () => {
    const ids = Array.from({ length: 151 }, (_, i) => uami(`bulk-${i}`));
    const e = await rejection(client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", attach(...ids), poll));
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe("User Assigned Identities Number '151' Assign exceed limit '150' in one request");
    expect(classify(e).kind).toBe("tooManyIdentities");
    const ok = await client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", attach(...ids.slice(0, 150)), poll);
    expect(Object.keys(ok.identity?.userAssignedIdentities ?? {})).toHaveLength(150);
  });

  it("answers 404 ResourceNotFound for unknown VMs and scale sets", async () => {
    const e = await rejection(client.virtualMachines.get(RG, "ghost"));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe("ResourceNotFound");
    const p = await rejection(client.virtualMachineScaleSets.update(RG, "ghost", attach(uami("a")), poll));
    expect(p.statusCode).toBe(404);
  });

  it("reports a failed long-running operation as Failed with ARM's error, applying nothing", async () => {
    server.failNextOperation(vmss, { code: "InternalOperationError", message: "An internal execution error occurred." });
    // core-lro reports a Failed operation as a plain Error (not a RestError) carrying ARM's code and message.
    const e = await client.virtualMachineScaleSets.update(RG, "aks-pool-vmss", attach(uami("a")), poll).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isRestError(e)).toBe(false);
    expect(String(e)).toContain("The long-running operation has failed. InternalOperationError. An internal execution error occurred.");
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
    expect(server.counts().operations).toMatchObject({ started: 1, failed: 1 });
  });

  it("answers malformed PATCHes with 400 InvalidParameter and records them", async () => {
    const bad = { identity: { type: "UserAssigned", userAssignedIdentities: { [uami("a")]: null } } } as unknown as VirtualMachineUpdate;
    const e = await rejection(client.virtualMachines.update(RG, "vm-0", bad, poll)); // would leave UserAssigned with no identity
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("InvalidParameter");
    expect(server.malformedPatches).toHaveLength(1);
    expect(compute.identitiesOf(vm)?.userAssignedKeys).toEqual([uami("a").toLowerCase()]);
  });

  it("serves synchronous PATCHes (200 with the resource) when configured so", async () => {
    const sync = await FakeArmServer.start({ ca: TestCertificateAuthority.fromEnvironment(), compute, catalog, lro: { mode: "synchronous" } });
    try {
      const c = new ComputeManagementClient(fakeArmCredential(), SUB, { endpoint: sync.url });
      const vmUpdated = await c.virtualMachines.update(RG, "vm-0", { identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [uami("e")]: {} } } }, poll);
      expect(Object.keys(vmUpdated.identity?.userAssignedIdentities ?? {})).toContain(uami("e"));
      expect(sync.counts().byOperation).toMatchObject({ vmPatch: 1, operationStatus: 0, vmGet: 0 });
    } finally {
      await sync.close();
    }
  });
});

describe("FakeArmServer wire checks", () => {
  const vmPath = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/vm-0`;

  async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
    const res = await fetch(`${server.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  }

  it("requires a bearer token, with the audience ARM expects", async () => {
    const missing = await raw(`${vmPath}?api-version=2024-07-01`);
    expect(missing).toMatchObject({ status: 401, body: { error: { code: "AuthenticationFailed" } } });
    const wrongAud = (await fakeArmCredential("https://vault.azure.net").getToken("x"))?.token ?? "";
    const wrong = await raw(`${vmPath}?api-version=2024-07-01`, { headers: { authorization: `Bearer ${wrongAud}` } });
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: "InvalidAuthenticationTokenAudience" } } });
    const opaque = await raw(`${vmPath}?api-version=2024-07-01`, { headers: { authorization: "Bearer not-a-jwt" } });
    expect(opaque.body.error?.code).toBe("InvalidAuthenticationToken");
    expect(server.counts().unauthorized).toBe(3);
  });

  it("accepts any non-empty bearer token when no audience is configured, and requires api-version", async () => {
    const open = await FakeArmServer.start({ compute, catalog }); // signed by the run CA by default
    try {
      const res = await fetch(`${open.url}${vmPath}?api-version=1999-01-01`, { headers: { authorization: "Bearer t" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("etag")).toBe(compute.identitiesOf(vm)?.etag);
      const noVersion = await fetch(`${open.url}${vmPath}`, { headers: { authorization: "Bearer t" } });
      expect(noVersion.status).toBe(400);
      expect(((await noVersion.json()) as { error: { code: string } }).error.code).toBe("MissingApiVersionParameter");
      const badJson = await fetch(`${open.url}${vmPath}?api-version=x`, { method: "PATCH", headers: { authorization: "Bearer t" }, body: "{" });
      expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe("InvalidRequestContent");
      const badType = await fetch(`${open.url}${vmPath}?api-version=x`, {
        method: "PATCH",
        headers: { authorization: "Bearer t" },
        body: JSON.stringify({ identity: { type: "Everything" } }),
      });
      expect(badType.status).toBe(400);
      const unknown = await fetch(`${open.url}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/loadBalancers/x?api-version=x`, {
        headers: { authorization: "Bearer t" },
      });
      expect(unknown.status).toBe(404);
    } finally {
      await open.close();
    }
  });

  it("answers injected wire faults and counts every call", async () => {
    server.failNext("vmGet", { status: 503, code: "ServiceUnavailable", message: "try later" }, 1);
    const res = await raw(`${vmPath}?api-version=x`, { headers: { authorization: `Bearer ${(await fakeArmCredential().getToken("https://management.azure.com/.default"))?.token}` } });
    expect(res).toEqual({ status: 503, body: { error: { code: "ServiceUnavailable", message: "try later" } } });
    const remove = server.injectFault((r) => (r.target?.name === "vm-0" ? { status: 500, code: "InternalServerError", message: "boom" } : undefined));
    const noRetry = new ComputeManagementClient(fakeArmCredential(), SUB, { endpoint: server.url, retryOptions: { maxRetries: 0 } });
    expect((await rejection(noRetry.virtualMachines.get(RG, "vm-0"))).statusCode).toBe(500);
    remove();
    await noRetry.virtualMachines.get(RG, "vm-0");
    const counts = server.counts();
    expect(counts.requests).toBe(3);
    expect(counts.byOperation.vmGet).toBe(3);
    expect(counts.byStatus).toEqual({ "503": 1, "500": 1, "200": 1 });
    expect(server.requestLog.map((r) => r.status)).toEqual([503, 500, 200]);
  });

  it("adds configured latency per operation", async () => {
    server.setLatency("vmGet", 150);
    try {
      const started = Date.now();
      await client.virtualMachines.get(RG, "vm-0");
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      server.setLatency("vmGet", undefined);
    }
  });
});

describe("FakeArmServer with the real @azure/arm-msi", () => {
  function msiClient(): ManagedServiceIdentityClient {
    return new ManagedServiceIdentityClient(fakeArmCredential(), SUB, {
      endpoint: server.url,
      credentialScopes: ["https://management.azure.com/.default"],
    });
  }

  it("GETs an identity with clientId, principalId and tenantId (flattened by the SDK)", async () => {
    const identity = await msiClient().userAssignedIdentities.get(ID_RG, "b");
    const record = catalog.lookup(uami("b"));
    expect(identity).toMatchObject({ id: uami("b"), name: "b", clientId: record?.clientId, principalId: record?.principalId, tenantId: record?.tenantId });
    expect(catalog.lookups(uami("b"))).toBeGreaterThan(0);
  });

  it("lists identities by subscription and resource group across pages", async () => {
    const all: string[] = [];
    for await (const identity of msiClient().userAssignedIdentities.listBySubscription()) all.push(identity.name ?? "");
    expect(all.sort()).toEqual(["a", "b", "c", "d", "e", "other-rg"]);
    expect(server.counts().byOperation.identityListBySubscription).toBe(3); // pageSize 2 → 3 pages via nextLink
    const inRg: string[] = [];
    for await (const identity of msiClient().userAssignedIdentities.listByResourceGroup("ELSEWHERE")) inRg.push(identity.name ?? "");
    expect(inRg).toEqual(["other-rg"]);
  });

  it("maps catalog faults to ARM errors", async () => {
    catalog.forbid([uami("d")]);
    const e = await rejection(msiClient().userAssignedIdentities.get(ID_RG, "d"));
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe("AuthorizationFailed");
  });
});
