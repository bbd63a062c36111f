import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { DriverLog } from "./log.js";
import { decodeHostTokenBody, fetchNmiToken, hostTokenPath, retryPolicyFromEnv } from "./nmi-token.js";

const silent: DriverLog = { info: () => {}, warn: () => {}, error: () => {} };

interface Seen {
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  server = undefined;
});

/** An NMI stand-in on loopback answering each request with the next of `answers` (the last repeats). */
async function nmi(answers: readonly { status: number; body: string }[]): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    const answer = answers[Math.min(seen.length - 1, answers.length - 1)] ?? { status: 500, body: "" };
    res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

const GOOD = JSON.stringify({ token: { access_token: "eyJ.token", expires_on: "1900000000", resource: "https://vault.azure.net", token_type: "Bearer" }, clientid: "c1" });
const FAST = { attempts: 5, intervalMs: 5, attemptTimeoutMs: 2000 };

describe("decodeHostTokenBody", () => {
  it("reads numeric strings and numbers for expires_on", () => {
    expect(decodeHostTokenBody(GOOD)).toEqual({ ok: true, value: { accessToken: "eyJ.token", expiresOnMs: 1_900_000_000_000, clientId: "c1" } });
    expect(decodeHostTokenBody(JSON.stringify({ token: { access_token: "t", expires_on: 1900000000 }, clientid: "c" }))).toMatchObject({ ok: true, value: { expiresOnMs: 1_900_000_000_000 } });
  });

  it.each([
    ["", /not JSON/],
    ["{}", /no "token" object/],
    [JSON.stringify({ token: { access_token: "", expires_on: "1" }, clientid: "c" }), /empty token.access_token/],
    [JSON.stringify({ token: { access_token: "t", expires_on: "soon" }, clientid: "c" }), /numeric token.expires_on/],
    [JSON.stringify({ token: { access_token: "t", expires_on: "1" }, clientid: "" }), /empty "clientid"/],
  ])("refuses %s", (body, message) => {
    expect(decodeHostTokenBody(body)).toMatchObject({ ok: false, error: expect.stringMatching(message) });
  });
});

describe("fetchNmiToken", () => {
  it("sends the original driver's request: unencoded resource, trailing slash, podns/podname, no Metadata", async () => {
    const { port, seen } = await nmi([{ status: 200, body: GOOD }]);
    const token = await fetchNmiToken({ port, resource: "https://vault.azure.net", podNamespace: "default", podName: "demo-app" }, FAST, silent);
    expect(token.ok).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe("/host/token/?resource=https://vault.azure.net");
    expect(seen[0]?.url).toBe(hostTokenPath("https://vault.azure.net"));
    expect(seen[0]?.headers).toMatchObject({ podns: "default", podname: "demo-app" });
    expect(seen[0]?.headers["metadata"]).toBeUndefined();
  });

  it("retries a 404 and takes the later 200", async () => {
    const { port, seen } = await nmi([{ status: 404, body: "no identity assigned yet" }, { status: 200, body: GOOD }]);
    const token = await fetchNmiToken({ port, resource: "https://vault.azure.net", podNamespace: "default", podName: "demo-app" }, FAST, silent);
    expect(token).toMatchObject({ ok: true, value: { clientId: "c1" } });
    expect(seen).toHaveLength(2);
  });

  it("gives up after the policy's attempts, naming the last answer", async () => {
    const { port, seen } = await nmi([{ status: 403, body: `{"error":"host token requests refused"}` }]);
    const token = await fetchNmiToken({ port, resource: "https://vault.azure.net", podNamespace: "default", podName: "demo-app" }, FAST, silent);
    expect(seen).toHaveLength(5);
    expect(token).toMatchObject({ ok: false, error: expect.stringMatching(/after 5 attempts 5 ms apart; last answer HTTP 403: \{"error":"host token requests refused"\}/) });
  });

  it("does not retry a 200 whose body is not a token", async () => {
    const { port, seen } = await nmi([{ status: 200, body: "{}" }]);
    const token = await fetchNmiToken({ port, resource: "https://vault.azure.net", podNamespace: "default", podName: "demo-app" }, FAST, silent);
    expect(seen).toHaveLength(1);
    expect(token.ok).toBe(false);
  });

  it("PODID_KV_TOKEN_RETRY_MS sets the interval; 5 attempts, 7 s apart otherwise", () => {
    expect(retryPolicyFromEnv(undefined)).toMatchObject({ ok: true, value: { attempts: 5, intervalMs: 7000 } });
    expect(retryPolicyFromEnv("50")).toMatchObject({ ok: true, value: { attempts: 5, intervalMs: 50 } });
    expect(retryPolicyFromEnv("fast")).toMatchObject({ ok: false });
  });
});
