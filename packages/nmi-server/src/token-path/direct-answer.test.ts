import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindPod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * Requests NMI answers itself reach the engine over a real socket without fastify's request and reply objects
 * (`answerOwn` in 1-http-entry.ts); `inject` always goes through fastify. Both must give the same answer and
 * the same audit record, decided or memoised, granted or refused.
 */

/** The caller: a pod at the loopback address the test's sockets come from. */
const CALLER_IP = "127.0.0.1";
const META = { Metadata: "true" };

/** What a client sees: status, body and headers without the per-response ones (date, connection). */
interface Seen {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, unknown>;
}

function comparable(status: number, body: string, headers: Record<string, unknown>): Seen {
  const { date: _date, connection: _connection, "keep-alive": _keepAlive, ...rest } = headers;
  return { status, body, headers: rest };
}

let h: NmiHarness;
let port = 0;

async function start(memoiseDecisions: boolean): Promise<void> {
  h = createHarness({ config: { memoiseDecisions } });
  bindPod(h, { pod: "app", ip: CALLER_IP, identity: "id-app" });
  await h.app.listen({ host: CALLER_IP, port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
}

/** One request over a real socket (fastify bypassed for NMI's own answers). */
function overSocket(method: string, target: string, headers: Record<string, string>): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request({ host: CALLER_IP, port, method, path: target, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(comparable(res.statusCode ?? 0, body, res.headers)));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The same request through fastify (`inject`). */
async function throughFastify(method: "GET" | "HEAD" | "POST", target: string, headers: Record<string, string>): Promise<Seen> {
  const res = await h.app.inject({ method, url: target, headers, remoteAddress: CALLER_IP });
  return comparable(res.statusCode, res.body, res.headers);
}

/** The audit records written since `from`, without what differs per request (id, duration). */
function auditSince(from: number): Record<string, unknown>[] {
  return h.logger.findAll("nmi decision").slice(from).map((r) => {
    const { requestId: _id, durationMs: _duration, ...rest } = r.fields as Record<string, unknown>;
    return rest;
  });
}

const CASES: readonly { readonly name: string; readonly method: "GET" | "HEAD" | "POST"; readonly target: string; readonly headers: Record<string, string> }[] = [
  { name: "a granted token", method: "GET", target: tokenUrl(), headers: META },
  { name: "a token without the Metadata header", method: "GET", target: tokenUrl(), headers: {} },
  { name: "an identity the pod does not have", method: "GET", target: tokenUrl(undefined, "&client_id=00000000-0000-4000-8000-000000000000"), headers: META },
  { name: "a request without a resource", method: "GET", target: "/metadata/identity/oauth2/token?api-version=2018-02-01", headers: META },
  { name: "a look-alike of the token path", method: "GET", target: "/metadata/identity/oauth2/token%2F?resource=x", headers: META },
  { name: "a method IMDS does not answer", method: "POST", target: tokenUrl(), headers: META },
];

describe.each([true, false])("NMI's own answers without fastify (memoiseDecisions: %s)", (memoiseDecisions) => {
  beforeAll(() => start(memoiseDecisions));
  afterAll(() => h.app.close());

  it.each(CASES)("answers $name as through fastify, with the same audit record", async ({ method, target, headers }) => {
    // Decided once through fastify first: a granted token is then cached (and memoised when the memo is on).
    await throughFastify(method, target, headers);
    for (let round = 0; round < 2; round++) {
      const before = h.logger.findAll("nmi decision").length;
      const direct = await overSocket(method, target, headers);
      const directAudit = auditSince(before);
      const middle = h.logger.findAll("nmi decision").length;
      const viaFastify = await throughFastify(method, target, headers);
      expect(direct).toEqual(viaFastify);
      expect(directAudit).toHaveLength(1);
      expect(directAudit).toEqual(auditSince(middle));
    }
  });

  it("takes the request id from x-ms-client-request-id on the direct path too", async () => {
    const before = h.logger.findAll("nmi decision").length;
    await overSocket("GET", tokenUrl(), { ...META, "x-ms-client-request-id": "direct-path-id" });
    expect(h.logger.findAll("nmi decision").slice(before).map((r) => (r.fields as Record<string, unknown>)["requestId"])).toEqual(["direct-path-id"]);
  });
});
