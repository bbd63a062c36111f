import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindPod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * Issue #12 item 5 — only what IMDS answers: the token paths answer GET and HEAD; any other method gets 405
 * in IMDS's error shape with `Allow`; request lines other than HTTP/1.0 and HTTP/1.1 are refused (Node's
 * parser hands `HTTP/0.9`, a version-less line and `HTTP/2.0` to NMI: 505 and the connection closed;
 * it refuses `HTTP/1.2` itself: IMDS-shaped 400). Over real sockets, with a pod at 127.0.0.1.
 */

let h: NmiHarness;
let port = 0;

beforeAll(async () => {
  h = createHarness();
  bindPod(h, { pod: "loopback-pod", ip: "127.0.0.1", identity: "id-loop" });
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await h.app.close();
});

interface RawAnswer {
  readonly statusLine: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** True when the server closed the connection although the request asked to keep it. */
  readonly closedByServer: boolean;
}

/** Sends one raw request line with headers (keep-alive) and reads until the server closes or 2 s pass. */
function raw(requestLine: string, headers: Record<string, string> = { Metadata: "true" }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    let closedByServer = false;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("error", reject);
    socket.on("end", () => (closedByServer = true));
    const timer = setTimeout(() => socket.destroy(), 2_000);
    socket.on("close", () => {
      clearTimeout(timer);
      const head = data.slice(0, Math.max(0, data.indexOf("\r\n\r\n")));
      const [statusLine = "", ...lines] = head.split("\r\n");
      const parsedHeaders = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? "0");
      resolve({ statusLine, status, headers: parsedHeaders, body: data.slice(data.indexOf("\r\n\r\n") + 4), closedByServer });
    });
    const lines = [requestLine, "Host: 169.254.169.254", "Connection: keep-alive", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    // A keep-alive answer leaves the socket open: end our side once an answer has arrived.
    socket.once("data", () => setTimeout(() => socket.end(), 100));
  });
}

const TOKEN = tokenUrl("https://vault.azure.net");

describe("token paths answer only GET and HEAD", () => {
  it("GET and HEAD are served (HEAD without a body); HTTP/1.0 too", async () => {
    const get = await raw(`GET ${TOKEN} HTTP/1.1`);
    expect(get.status, get.body).toBe(200);
    const head = await raw(`HEAD ${TOKEN} HTTP/1.1`);
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect((await raw(`GET ${TOKEN} HTTP/1.0`)).status).toBe(200);
  });

  it("PURGE, POST, PUT, DELETE, OPTIONS, PATCH on /metadata/identity/oauth2/token and /host/token → 405 in IMDS's shape with Allow, nothing minted", async () => {
    // A memoised GET first: the refusal must not be served from the decision memo, whose key has no method.
    expect((await raw(`GET ${TOKEN} HTTP/1.1`)).status).toBe(200);
    const fetched = h.tokens.calls.length;
    for (const method of ["PURGE", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"]) {
      for (const target of [TOKEN, "/host/token?resource=https://vault.azure.net"]) {
        const res = await raw(`${method} ${target} HTTP/1.1`, { Metadata: "true", "Content-Length": "0" });
        if (method === "get") {
          // Lower-case methods never reach NMI: Node's parser refuses them (400).
          expect(res.status, `${method} ${target}`).toBe(400);
          continue;
        }
        expect(res.status, `${method} ${target}: ${res.body}`).toBe(405);
        expect(res.headers["allow"], method).toBe("GET, HEAD");
        expect(JSON.parse(res.body), method).toEqual({ error: "invalid_request", error_description: `method ${method} is not allowed on this endpoint; use GET or HEAD` });
      }
    }
    expect(h.tokens.calls.length).toBe(fetched);
  });
});

describe("request lines other than HTTP/1.0 and HTTP/1.1 are refused", () => {
  it("HTTP/2.0, HTTP/0.9 and a version-less line → 505 in IMDS's shape and the connection closed; HTTP/1.2 and HTTP/3.0 → the parser's 400", async () => {
    const fetched = h.tokens.calls.length;
    for (const line of [`GET ${TOKEN} HTTP/2.0`, `GET ${TOKEN} HTTP/0.9`, `GET ${TOKEN}`, "GET /metadata/instance?api-version=2021-02-01 HTTP/2.0"]) {
      const res = await raw(line);
      expect(res.status, `${line}: ${res.statusLine}`).toBe(505);
      expect(JSON.parse(res.body), line).toEqual({ error: "invalid_request", error_description: "only HTTP/1.0 and HTTP/1.1 are supported" });
      expect(res.closedByServer, line).toBe(true);
    }
    for (const line of [`GET ${TOKEN} HTTP/1.2`, `GET ${TOKEN} HTTP/3.0`]) {
      const res = await raw(line);
      expect(res.status, line).toBe(400);
      expect(JSON.parse(res.body), line).toMatchObject({ error: "invalid_request" });
    }
    expect(h.tokens.calls.length).toBe(fetched);
    expect(h.forwarder.requests.length).toBe(0);
  });
});
