import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { computeTargetId, formatUserAssignedIdentityId, type ComputeTarget } from "@podid/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeCompute } from "../fakes/fake-compute.js";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import { FakeImdsServer } from "./fake-imds-server.js";

const SUB = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";
const RG = "MC_rg_cluster_westeurope";
const ARM = "https://management.azure.com/";
const uami = (name: string): string => formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: "identities", name });

let compute: FakeCompute;
let catalog: FakeIdentityCatalog;
let vm: ComputeTarget;
let imds: FakeImdsServer;

async function get(path: string, headers: Record<string, string> = { Metadata: "true" }): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${imds.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

const tokenPath = (query: string): string => `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(ARM)}${query}`;

beforeAll(async () => {
  compute = new FakeCompute();
  catalog = new FakeIdentityCatalog();
  for (const name of ["pod-a", "pod-b", "pod-c"]) catalog.register(uami(name));
  vm = compute.addVm({ subscriptionId: SUB, resourceGroup: RG, name: "aks-node-0" }, { systemAssigned: true, userAssigned: [uami("pod-a")] });
  // The shared server does not throttle, so that the order and speed of tests never matter; the
  // throttling tests start their own servers with IMDS's default limits.
  imds = await FakeImdsServer.start({ compute, catalog, target: vm, throttle: false });
});

beforeEach(() => {
  imds.resetCounters();
});

afterAll(async () => {
  await imds.close();
});

describe("FakeImdsServer token endpoint", () => {
  it("issues the system-assigned identity's token in IMDS's all-string shape when no identity is named", async () => {
    const { status, body } = await get(tokenPath(""));
    expect(status).toBe(200);
    for (const field of ["access_token", "refresh_token", "expires_in", "expires_on", "ext_expires_in", "not_before", "resource", "token_type", "client_id"]) {
      expect(typeof body[field], field).toBe("string");
    }
    expect(body).toMatchObject({ resource: ARM, token_type: "Bearer", refresh_token: "" });
    const claims = decodeFakeJwt(String(body["access_token"]));
    expect(claims.xms_mirid).toBe(computeTargetId(vm));
    expect(claims.oid).toBe(compute.identitiesOf(vm)?.systemAssignedPrincipalId);
    expect(claims.aud).toBe(ARM);
    expect(String(claims.exp)).toBe(body["expires_on"]);
    expect(String(claims.nbf)).toBe(body["not_before"]);
    expect(claims.appid).toBe(body["client_id"]);
  });

  it("selects an attached user-assigned identity by client_id, object_id or msi_res_id", async () => {
    const record = catalog.lookup(uami("pod-a"));
    for (const query of [`&client_id=${record?.clientId}`, `&object_id=${record?.principalId}`, `&msi_res_id=${encodeURIComponent(uami("pod-a").toUpperCase())}`]) {
      const { status, body } = await get(tokenPath(query));
      expect(status, query).toBe(200);
      const claims = decodeFakeJwt(String(body["access_token"]));
      expect(claims).toMatchObject({ appid: record?.clientId, oid: record?.principalId, tid: record?.tenantId, xms_mirid: uami("pod-a") });
      expect(body["client_id"]).toBe(record?.clientId);
    }
    expect(imds.counts().issued).toBe(3);
  });

  it("answers 400 Identity not found unless the identity is attached to this VM in the FakeCompute state", async () => {
    const b = catalog.lookup(uami("pod-b"));
    const before = await get(tokenPath(`&client_id=${b?.clientId}`));
    expect(before).toEqual({ status: 400, body: { error: "invalid_request", error_description: "Identity not found" } });
    compute.attachOutOfBand(vm, uami("pod-b"));
    const after = await get(tokenPath(`&client_id=${b?.clientId}`));
    expect(after.status).toBe(200);
    expect(decodeFakeJwt(String(after.body["access_token"])).appid).toBe(b?.clientId);
    compute.detachOutOfBand(vm, uami("pod-b"));
    expect((await get(tokenPath(`&client_id=${b?.clientId}`))).status).toBe(400);
  });

  it("enforces IMDS's request rules: Metadata header, api-version, one selector, no X-Forwarded-For, a resource", async () => {
    const probe = await get("/metadata/identity/oauth2/token", {});
    expect(probe).toEqual({ status: 400, body: { error: "bad_request_102", error_description: "Required metadata header not specified" } });
    expect((await get(tokenPath(""), { Metadata: "false" })).body["error"]).toBe("bad_request_102");
    const noVersion = await get(`/metadata/identity/oauth2/token?resource=${ARM}`);
    expect(noVersion.status).toBe(400);
    expect(noVersion.body["error"]).toMatch(/api-version was not specified/);
    expect(noVersion.body["newest-versions"]).toBeInstanceOf(Array);
    expect((await get(`/metadata/identity/oauth2/token?api-version=2017-09-01&resource=${ARM}`)).body["error"]).toMatch(/api-version is invalid/);
    const two = await get(tokenPath(`&client_id=x&object_id=y`));
    expect(two).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    const forwarded = await get(tokenPath(""), { Metadata: "true", "X-Forwarded-For": "10.0.0.7" });
    expect(forwarded.status).toBe(400);
    const noResource = await get("/metadata/identity/oauth2/token?api-version=2018-02-01");
    expect(noResource).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    expect(imds.counts()).toMatchObject({ probes: 1, issued: 0 });
  });

  it("accepts a trailing slash and any case in the path (what the SDK sends to pod identity)", async () => {
    expect((await get(`/METADATA/identity/oauth2/token/?api-version=2018-02-01&resource=${ARM}`)).status).toBe(200);
    expect((await get(`/metadata/nothing?api-version=2018-02-01`)).status).toBe(404);
  });

  it("serves injected raw faults and token-source faults", async () => {
    imds.failNext({ status: 410, body: { error: "service_unavailable", error_description: "IMDS is updating" } });
    expect((await get(tokenPath(""))).status).toBe(410);
    imds.tokens.throttleNext(1, 2000);
    const throttled = await fetch(`${imds.url}${tokenPath("")}`, { headers: { Metadata: "true" } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("2");
    imds.tokens.unavailableNext(1);
    expect((await get(tokenPath(""))).body["error"]).toBe("unknown");
    expect((await get(tokenPath(""))).status).toBe(200);
  });
});

describe("FakeImdsServer throttling (20 requests/s and 5 concurrent per VM)", () => {
  it("refuses the 21st request within a second with 429, and admits again a second later", async () => {
    const clock = new VirtualClock();
    const own = await FakeImdsServer.start({ compute, catalog, target: vm, clock, throttle: { maxConcurrent: 100 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) {
        const res = await fetch(`${own.url}${tokenPath("")}`, { headers: { Metadata: "true" } });
        statuses.push(res.status);
        await res.text();
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(20);
      expect(statuses.slice(20)).toEqual([429, 429, 429, 429, 429]);
      clock.advance(1000);
      expect((await fetch(`${own.url}${tokenPath("")}`, { headers: { Metadata: "true" } })).status).toBe(200);
      expect(own.counts().throttled).toBe(5);
    } finally {
      await own.close();
    }
  });

  it("refuses requests beyond 5 in flight with 429", async () => {
    // Latency on a virtual clock holds the admitted requests in flight until the test lets them go.
    const clock = new VirtualClock();
    const own = await FakeImdsServer.start({ compute, catalog, target: vm, clock, latencyMs: 1000 });
    try {
      const pending = Array.from({ length: 8 }, () =>
        fetch(`${own.url}${tokenPath("")}`, { headers: { Metadata: "true" } }).then(async (r) => (await r.text(), r.status)),
      );
      for (let i = 0; i < 400 && own.counts().tokenRequests < 8; i++) await new Promise((r) => setTimeout(r, 5));
      expect(own.counts()).toMatchObject({ tokenRequests: 8, throttled: 3, peakConcurrentTokenRequests: 5 });
      await clock.advanceAsync(1000);
      const statuses = await Promise.all(pending);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    } finally {
      await own.close();
    }
  });
});

describe("FakeImdsServer instance metadata", () => {
  it("describes its VM (and a scale-set instance) in IMDS's shape", async () => {
    const doc = await get("/metadata/instance?api-version=2021-02-01");
    expect(doc.status).toBe(200);
    expect(doc.body["compute"]).toMatchObject({ name: "aks-node-0", resourceGroupName: RG, subscriptionId: SUB, resourceId: computeTargetId(vm), vmScaleSetName: "" });
    expect((await get("/metadata/instance/compute/name?api-version=2021-02-01&format=text")).body).toEqual({ text: "aks-node-0" });
    expect((await get("/metadata/instance?api-version=2021-02-01", {})).status).toBe(400);

    const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "aks-pool" });
    const scaleSet = await FakeImdsServer.start({ compute, target: vmss, instanceId: "3" });
    try {
      const res = await fetch(`${scaleSet.url}/metadata/instance/compute?api-version=2021-02-01`, { headers: { Metadata: "true" } });
      expect(await res.json()).toMatchObject({ name: "aks-pool_3", vmScaleSetName: "aks-pool", resourceId: `${computeTargetId(vmss)}/virtualMachines/3` });
    } finally {
      await scaleSet.close();
    }
  });
});

describe("FakeImdsServer with real clients", () => {
  it("answers curl", async () => {
    const record = catalog.lookup(uami("pod-a"));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        "curl",
        ["-s", "--max-time", "5", "-H", "Metadata:true", `${imds.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${ARM}&client_id=${record?.clientId}`],
        (error, stdout) => (error === null ? resolve(stdout) : reject(error)),
      );
    });
    const body = JSON.parse(out) as Record<string, string>;
    expect(body["client_id"]).toBe(record?.clientId);
    expect(decodeFakeJwt(body["access_token"] ?? "").xms_mirid).toBe(uami("pod-a"));
  });

  it("answers @azure/identity's ManagedIdentityCredential (fresh process, AZURE_POD_IDENTITY_AUTHORITY_HOST)", async () => {
    const a = catalog.lookup(uami("pod-a"));
    const c = catalog.lookup(uami("pod-c"));
    // One child process runs every scenario: MSAL keeps per-process state, so a fresh process is used.
    const script = `
      import { ManagedIdentityCredential } from "@azure/identity";
      const scope = "https://management.azure.com/.default";
      const attempt = async (name, make) => {
        try { const t = await make().getToken(scope); return [name, { token: t.token, expiresOnTimestamp: t.expiresOnTimestamp }]; }
        catch (e) { return [name, { error: e.name, message: e.message }]; }
      };
      const results = Object.fromEntries(await Promise.all([
        attempt("system", () => new ManagedIdentityCredential()),
        attempt("byClientId", () => new ManagedIdentityCredential({ clientId: ${JSON.stringify(a?.clientId)} })),
        attempt("byResourceId", () => new ManagedIdentityCredential({ resourceId: ${JSON.stringify(uami("pod-a"))} })),
        attempt("byObjectId", () => new ManagedIdentityCredential({ objectId: ${JSON.stringify(a?.principalId)} })),
        attempt("notAttached", () => new ManagedIdentityCredential({ clientId: ${JSON.stringify(c?.clientId)} })),
      ]));
      console.log("RESULTS " + JSON.stringify(results));
    `;
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        {
          cwd: fileURLToPath(new URL("../..", import.meta.url)),
          env: { ...process.env, AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url, AZURE_CLIENT_ID: "", AZURE_TENANT_ID: "" },
          timeout: 15_000,
        },
        (error, out, err) => (error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`))),
      );
      child.stdin?.end();
    });
    const line = stdout.split("\n").find((l) => l.startsWith("RESULTS ")) ?? "RESULTS {}";
    const results = JSON.parse(line.slice("RESULTS ".length)) as Record<string, { token?: string; expiresOnTimestamp?: number; error?: string; message?: string }>;
    const claims = (name: string) => decodeFakeJwt(results[name]?.token ?? "");
    expect(claims("system")).toMatchObject({ xms_mirid: computeTargetId(vm), oid: compute.identitiesOf(vm)?.systemAssignedPrincipalId, aud: "https://management.azure.com" });
    for (const name of ["byClientId", "byResourceId", "byObjectId"]) {
      expect(claims(name), name).toMatchObject({ appid: a?.clientId, oid: a?.principalId, xms_mirid: uami("pod-a") });
    }
    // MSAL may derive the expiry from expires_in and its own receive time, so it can differ from the
    // JWT's exp by the response latency (seconds under CI load), but never by more.
    const expiresOn = results["byClientId"]?.expiresOnTimestamp ?? 0;
    expect(expiresOn).toBeGreaterThanOrEqual(claims("byClientId").exp * 1000 - 5_000);
    expect(expiresOn).toBeLessThanOrEqual(claims("byClientId").exp * 1000 + 2_000);
    expect(results["notAttached"]?.error).toBe("CredentialUnavailableError");
    expect(results["notAttached"]?.message).toContain("Identity not found");
    // The SDK hit our endpoint (no probe: skipped when AZURE_POD_IDENTITY_AUTHORITY_HOST is set).
    expect(imds.counts().issued).toBeGreaterThanOrEqual(4);
    expect(imds.tokens.calls.some((c2) => c2.selector === `msi_res_id=${uami("pod-a")}`)).toBe(true);
  }, 20_000);
});
