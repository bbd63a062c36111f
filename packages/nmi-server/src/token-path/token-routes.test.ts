import { afterEach, describe, expect, it } from "vitest";
import { decodeFakeJwt, fakeGuid } from "@podid/testkit";
import { bindPod, identityClientId, makeAssigned, makeBinding, makeException, makeIdentity, makePod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

const META = { Metadata: "true" };
let h: NmiHarness;

afterEach(async () => {
  await h?.app.close();
});

function json(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

describe("token path: request checks in the original's order", () => {
  it("answers a missing Metadata header with 400 before looking at resource or caller", async () => {
    h = createHarness();
    const res = await h.app.inject({ method: "GET", url: "/metadata/identity/oauth2/token", remoteAddress: "10.9.9.9" });
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(json(res.body)).toEqual({ error: "invalid_request", error_description: "Required metadata header not specified" });
  });

  it("refuses Metadata values other than exactly `true`", async () => {
    h = createHarness();
    for (const value of ["True", "1", "yes", ""]) {
      const res = await h.app.inject({ url: tokenUrl(), headers: { Metadata: value }, remoteAddress: "10.0.0.1" });
      expect(res.statusCode).toBe(400);
    }
  });

  it("answers a missing resource with 400 once the header is there", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const res = await h.app.inject({ url: "/metadata/identity/oauth2/token?api-version=2018-02-01", headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(400);
    expect(json(res.body)["error_description"]).toBe("parameter resource cannot be empty");
  });

  it("answers an unattributable caller with 500 (the original's 'failed to match pod IP')", async () => {
    h = createHarness();
    const res = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.77" });
    expect(res.statusCode).toBe(500);
    expect(json(res.body)).toMatchObject({ error: "server_error" });
  });

  it("refuses X-Forwarded-For and Forwarded on the token path", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    for (const header of ["X-Forwarded-For", "Forwarded"]) {
      const res = await h.app.inject({ url: tokenUrl(), headers: { ...META, [header]: "1.2.3.4" }, remoteAddress: "10.0.0.5" });
      expect(res.statusCode).toBe(400);
      expect(json(res.body)["error"]).toBe("bad_request");
    }
  });
});

describe("token path: standard mode", () => {
  it("issues the pod's identity token in IMDS's all-string shape with expires_on and client_id", async () => {
    h = createHarness();
    const { identity } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const res = await h.app.inject({ method: "GET", url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(res.headers["content-length"]).toBe(String(Buffer.byteLength(res.body)));
    const body = json(res.body);
    for (const value of Object.values(body)) expect(typeof value).toBe("string");
    expect(body).toMatchObject({ client_id: identity.spec.clientID, resource: "https://management.azure.com/", token_type: "Bearer" });
    expect(Number(body["expires_on"])).toBeGreaterThan(h.clock.now() / 1000);
    expect(decodeFakeJwt(String(body["access_token"]))).toMatchObject({ appid: identity.spec.clientID, aud: "https://management.azure.com/" });
  });

  it("accepts the SDK's trailing slash, any case of /metadata, GET and HEAD (other methods: 405, request-line.test.ts)", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    for (const [method, url] of [
      ["GET", "/metadata/identity/oauth2/token/?resource=https%3A%2F%2Fvault.azure.net"],
      ["GET", "/METADATA/identity/oauth2/token?resource=https%3A%2F%2Fvault.azure.net"],
      ["HEAD", "/Metadata/identity/oauth2/token/?resource=https%3A%2F%2Fvault.azure.net"],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: META, remoteAddress: "10.0.0.5" });
      expect(res.statusCode, `${method} ${url}`).toBe(200);
    }
  });

  it("picks the requested identity by client_id or msi_res_id, case-insensitively", async () => {
    h = createHarness();
    const a = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const b = h.cluster.apply("azureidentities", makeIdentity({ name: "id-b" }));
    const bb = h.cluster.apply("azureidentitybindings", makeBinding(b, "id-a-selector", "b-binding"));
    h.cluster.apply("azureassignedidentities", makeAssigned(a.pod, b, bb));
    h.tokens.allow(b.spec.resourceID);
    const byClient = await h.app.inject({ url: tokenUrl(undefined, `&client_id=${b.spec.clientID.toUpperCase()}`), headers: META, remoteAddress: "10.0.0.5" });
    expect(json(byClient.body)["client_id"]).toBe(b.spec.clientID);
    const byRes = await h.app.inject({ url: tokenUrl(undefined, `&msi_res_id=${encodeURIComponent(b.spec.resourceID)}`), headers: META, remoteAddress: "10.0.0.5" });
    expect(json(byRes.body)["client_id"]).toBe(b.spec.clientID);
    const byMiRes = await h.app.inject({ url: tokenUrl(undefined, `&mi_res_id=${encodeURIComponent(a.identity.spec.resourceID)}`), headers: META, remoteAddress: "10.0.0.5" });
    expect(json(byMiRes.body)["client_id"]).toBe(a.identity.spec.clientID);
  });

  it("refuses a pod asking for another pod's identity with 404 at once", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const other = bindPod(h, { pod: "other", ip: "10.0.0.6", identity: "id-b" });
    const res = await h.app.inject({ url: tokenUrl(undefined, `&client_id=${other.identity.spec.clientID}`), headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(404);
    expect(json(res.body)["error"]).toBe("not_found");
    expect(h.tokens.counts().calls).toBe(0);
  });

  it("honours namespaced mode: an identity from another namespace is not the pod's", async () => {
    h = createHarness({ config: { forceNamespaced: true, setRetryAfterHeader: true } });
    const identity = h.cluster.apply("azureidentities", makeIdentity({ name: "foreign", namespace: "team-b" }));
    const binding = h.cluster.apply("azureidentitybindings", makeBinding(identity, "sel"));
    const pod = h.cluster.apply("pods", makePod({ name: "app", namespace: "team-a", ip: "10.0.0.5", selector: "sel" }));
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding));
    h.tokens.allow(identity.spec.resourceID);
    const res = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("20");
  });

  it("maps token-source refusals to 403 and outages to 503", async () => {
    h = createHarness();
    const { identity } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    h.tokens.revoke(identity.spec.resourceID.toLowerCase());
    const refused = await h.app.inject({ url: tokenUrl("https://a/"), headers: META, remoteAddress: "10.0.0.5" });
    expect(refused.statusCode).toBe(403);
    expect(json(refused.body)["error_description"]).toContain("Identity not found");
    h.tokens.unavailableNext(1);
    const down = await h.app.inject({ url: tokenUrl("https://b/"), headers: META, remoteAddress: "10.0.0.5" });
    expect(down.statusCode).toBe(503);
  });

  it("gives an excepted pod the node's identity straight from IMDS", async () => {
    h = createHarness();
    h.tokens.allowSystemAssigned(fakeGuid("node-principal"));
    h.cluster.apply("pods", makePod({ name: "mic", namespace: "kube-system", ip: "10.0.0.9", labels: { app: "mic" } }));
    h.cluster.apply("azurepodidentityexceptions", makeException("mic-exception", "kube-system", { app: "mic" }));
    const res = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.9" });
    expect(res.statusCode).toBe(200);
    expect(decodeFakeJwt(String(json(res.body)["access_token"])).oid).toBe(fakeGuid("node-principal"));
    expect(h.tokens.calls[0]?.selector).toBeUndefined();
  });
});

describe("token path: managed mode", () => {
  it("serves bindings in the pod's namespace without any AzureAssignedIdentity and never waits", async () => {
    h = createHarness({ config: { operationMode: "managed", forceNamespaced: true } });
    bindPod(h, { pod: "app", namespace: "team-a", ip: "10.0.0.5", identity: "id-a", status: "none" });
    const ok = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    expect(ok.statusCode).toBe(200);
    expect(json(ok.body)["client_id"]).toBe(identityClientId("id-a"));
    // A pod in another namespace carrying the same label gets nothing: bindings only count in the pod's namespace.
    h.cluster.apply("pods", makePod({ name: "intruder", namespace: "team-b", ip: "10.0.0.6", selector: "id-a-selector" }));
    const refused = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.6" });
    expect(refused.statusCode).toBe(404);
  });
});

describe("token types 1 and 2", () => {
  const tenant = "11111111-1111-4111-8111-111111111111";

  it("reads the Secret once per token lifetime and completes the plan (type 1)", async () => {
    h = createHarness();
    const sp = fakeGuid("sp-client");
    h.tokens.registerServicePrincipal({ tenantId: tenant, clientId: sp, secret: "s3cr3t-value" });
    h.cluster.applySecret("default", "sp-secret", { clientSecret: "s3cr3t-value" });
    const identity = h.cluster.apply("azureidentities", makeIdentity({ name: "sp", type: 1, clientId: sp, secretRef: { namespace: "default", name: "sp-secret" } }));
    const binding = h.cluster.apply("azureidentitybindings", makeBinding(identity, "sp-sel"));
    const pod = h.cluster.apply("pods", makePod({ name: "app", ip: "10.0.0.5", selector: "sp-sel" }));
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding));
    for (let i = 0; i < 3; i++) {
      const res = await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
      expect(res.statusCode).toBe(200);
      expect(json(res.body)["client_id"]).toBe(sp);
    }
    expect(h.cluster.secretReads).toBe(1);
    expect(h.tokens.counts().calls).toBe(1);
    expect(h.logger.mentions("s3cr3t-value")).toBe(false);
  });

  it("answers an unusable Secret with 403 and an API outage with 503", async () => {
    h = createHarness();
    const identity = h.cluster.apply("azureidentities", makeIdentity({ name: "sp", type: 2, clientId: fakeGuid("c"), secretRef: { namespace: "default", name: "missing" } }));
    const binding = h.cluster.apply("azureidentitybindings", makeBinding(identity, "sp-sel"));
    const pod = h.cluster.apply("pods", makePod({ name: "app", ip: "10.0.0.5", selector: "sp-sel" }));
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding));
    const missing = await h.app.inject({ url: tokenUrl("https://a/"), headers: META, remoteAddress: "10.0.0.5" });
    expect(missing.statusCode).toBe(403);
    h.cluster.failNextSecretReads(1, { kind: "transient", message: "apiserver down" });
    const outage = await h.app.inject({ url: tokenUrl("https://b/"), headers: META, remoteAddress: "10.0.0.5" });
    expect(outage.statusCode).toBe(503);
    expect(h.tokens.counts().calls).toBe(0);
  });
});

describe("/host/token", () => {
  it("is refused with 403 when off (the original always served it)", async () => {
    h = createHarness({ config: { hostToken: "off" } });
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const res = await h.app.inject({ url: "/host/token/?resource=https%3A%2F%2Fvault.azure.net", headers: { podns: "default", podname: "app" }, remoteAddress: "127.0.0.1" });
    expect(res.statusCode).toBe(403);
  });

  it("unscoped: 400 without pod headers, 500 from a non-host address, the host shape otherwise", async () => {
    h = createHarness({ config: { hostToken: "unscoped" } });
    const { identity } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const url = "/host/token/?resource=https%3A%2F%2Fvault.azure.net";
    expect((await h.app.inject({ url, remoteAddress: "127.0.0.1" })).statusCode).toBe(400);
    expect((await h.app.inject({ url, headers: { podns: "default", podname: "app" }, remoteAddress: "10.0.0.8" })).statusCode).toBe(500);
    const res = await h.app.inject({ url, headers: { podns: "default", podname: "app" }, remoteAddress: "127.0.0.1" });
    expect(res.statusCode).toBe(200);
    const body = json(res.body);
    expect(body["clientid"]).toBe(identity.spec.clientID);
    expect(body["token"]).toMatchObject({ resource: "https://vault.azure.net" });
    const unknown = await h.app.inject({ url, headers: { podns: "default", podname: "ghost" }, remoteAddress: "127.0.0.1" });
    expect(unknown.statusCode).toBe(500);
  });
});
