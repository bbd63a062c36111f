import { afterEach, describe, expect, it } from "vitest";
import { createHarness, RecordingForwarder, type NmiHarness } from "../test-support/nmi-harness.js";

const META = { Metadata: "true" };
let h: NmiHarness;

afterEach(async () => {
  await h?.app.close();
});

describe("everything that is not a token path", () => {
  it("forwards other paths unchanged (target, method, body) and returns IMDS's answer", async () => {
    const forwarder = new RecordingForwarder(() => ({ status: 404, headers: { "content-type": "text/plain", "x-ms-version": "2021-01-01" }, body: new TextEncoder().encode("no such path") }));
    h = createHarness({ forwarder });
    const res = await h.app.inject({ method: "PUT", url: "/doesnotexist/Path?a=1&b=%20x", headers: { ...META, "content-type": "application/json" }, payload: '{"x":1}', remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(404);
    expect(res.body).toBe("no such path");
    expect(res.headers["x-ms-version"]).toBe("2021-01-01");
    expect(forwarder.requests).toHaveLength(1);
    const sent = forwarder.requests[0];
    expect(sent?.method).toBe("PUT");
    expect(sent?.target).toBe("/doesnotexist/Path?a=1&b=%20x");
    expect(new TextDecoder().decode(sent?.body)).toBe('{"x":1}');
  });

  it("applies the Metadata gate and refuses forwarding headers before forwarding", async () => {
    h = createHarness();
    expect((await h.app.inject({ url: "/metadata/instance?api-version=2021-02-01", remoteAddress: "10.0.0.5" })).statusCode).toBe(400);
    const xff = await h.app.inject({ url: "/metadata/instance?api-version=2021-02-01", headers: { ...META, "x-forwarded-for": "10.1.1.1" }, remoteAddress: "10.0.0.5" });
    expect(xff.statusCode).toBe(400);
    expect(JSON.parse(xff.body)).toMatchObject({ error: "bad_request" });
    expect(h.forwarder.requests).toHaveLength(0);
    const ok = await h.app.inject({ url: "/metadata/instance?api-version=2021-02-01", headers: META, remoteAddress: "10.0.0.5" });
    expect(ok.statusCode).toBe(200);
    expect(h.forwarder.requests).toHaveLength(1);
  });

  it("blocks /metadata/instance in any spelling with --block-instance-metadata (403, even without the header)", async () => {
    h = createHarness({ config: { blockInstanceMetadata: true } });
    for (const url of ["/metadata/instance", "/METADATA/Instance/compute?api-version=2021-02-01", "/metadata/%69nstance/network", "/metadata/instance/"]) {
      const res = await h.app.inject({ url, remoteAddress: "10.0.0.5" });
      expect(res.statusCode, url).toBe(403);
      expect(JSON.parse(res.body)).toEqual({ error: "forbidden", error_description: "Request blocked by AAD Pod Identity NMI" });
    }
    expect(h.forwarder.requests).toHaveLength(0);
  });

  it("answers 500 in IMDS's shape when IMDS cannot be reached", async () => {
    h = createHarness({ forwarder: new RecordingForwarder(() => undefined) });
    const res = await h.app.inject({ url: "/metadata/versions", headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ error: "server_error" });
  });

  it("refuses look-alikes of the token path with 400 'Invalid request' and never forwards them", async () => {
    h = createHarness();
    const lookalikes = [
      "/metadata/Identity/oauth2/token?resource=x",
      "/metadata/identity/oauth2/token/x?resource=x",
      "/metadata/identity/oauth2/tokens?resource=x",
      "/metadata//identity/oauth2/token?resource=x",
      "/metadata/identity/%6fauth2/token?resource=x",
      "/metadata/identity/oauth2%2ftoken?resource=x",
      "/metadata/identity;x/oauth2/token?resource=x",
      "/metadata/%69dentity/oauth2/token?resource=x",
      "/host/token/x?resource=x",
      "/%zz",
    ];
    for (const url of lookalikes) {
      const res = await h.app.inject({ url, headers: META, remoteAddress: "10.0.0.5" });
      expect(res.statusCode, url).toBe(400);
      expect(JSON.parse(res.body), url).toEqual({ error: "invalid_request", error_description: "Invalid request" });
    }
    expect(h.forwarder.requests).toHaveLength(0);
  });

  it("renders framework refusals (body too large) in IMDS's error shape", async () => {
    h = createHarness({ config: { bodyLimitBytes: 16 } });
    const res = await h.app.inject({ method: "POST", url: "/metadata/versions", headers: { ...META, "content-type": "text/plain" }, payload: "x".repeat(100), remoteAddress: "10.0.0.5" });
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: "invalid_request" });
  });

  it("accepts methods fastify has no route for and bodies of any content type", async () => {
    h = createHarness();
    const propfind = await h.app.inject({ method: "PROPFIND" as "GET", url: "/metadata/versions", headers: META, remoteAddress: "10.0.0.5" });
    expect(propfind.statusCode).toBe(200);
    const odd = await h.app.inject({ method: "POST", url: "/x", headers: { ...META, "content-type": "application/x-weird" }, payload: "abc", remoteAddress: "10.0.0.5" });
    expect(odd.statusCode).toBe(200);
    const badJson = await h.app.inject({ method: "POST", url: "/x", headers: { ...META, "content-type": "application/json" }, payload: "{bad", remoteAddress: "10.0.0.5" });
    expect(badJson.statusCode).toBe(200);
    expect(h.forwarder.requests.map((r) => r.method)).toEqual(["PROPFIND", "POST", "POST"]);
  });
});
