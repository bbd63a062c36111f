import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindPod, makeBinding, makeIdentity, makePod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * NMI over real sockets: raw request targets exactly as a client sends them (fastify's `inject` normalises
 * URLs with WHATWG rules, which would turn `\` into `/`), and forwarding to a loopback stand-in for IMDS.
 */

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const seen: SeenRequest[] = [];
let upstream: Server;
let h: NmiHarness;
let port = 0;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { "content-type": "application/json", connection: "keep-alive", "x-upstream": "yes" });
      res.end('{"compute":{}}');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  h = createHarness({ httpForwarding: true, config: { metadataAddress: "127.0.0.1", metadataPort: upstreamPort } });
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await h.app.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** Sends one raw HTTP/1.1 request and returns the status code and body. */
function raw(target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? "0");
      resolve({ status, body: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
    const lines = [`GET ${target} HTTP/1.1`, "Host: 169.254.169.254", "Connection: close", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  });
}

describe("raw request targets (CVE-2022-23551 class)", () => {
  it("refuses backslash, dot-segment and encoded variants of the token path without forwarding them", async () => {
    const before = seen.length;
    for (const target of [
      "/metadata/identity\\oauth2\\token/?resource=https://management.azure.com/",
      "/metadata/identity/oauth2\\token?resource=x",
      "/metadata/identity/./oauth2/token?resource=x",
      "/metadata/x/../identity/oauth2/token?resource=x",
      "/metadata/identity/oauth2/token/..;/token?resource=x",
      "/metadata/identity%5coauth2%5ctoken?resource=x",
      "/metadata/identity%2foauth2%2ftoken?resource=x",
      "/metadata/identity/oauth2/%74oken?resource=x",
    ]) {
      const res = await raw(target, { Metadata: "true" });
      expect(res.status, target).toBe(400);
      expect(JSON.parse(res.body), target).toEqual({ error: "invalid_request", error_description: "Invalid request" });
    }
    expect(seen.length).toBe(before);
  });

  it("answers requests Node's HTTP parser refuses in IMDS's JSON shape too, without forwarding them", async () => {
    const before = seen.length;
    for (const target of ["\\metadata/identity/oauth2/token?resource=x", "/metadata/identity/oauth2/token\t?resource=x", "/metadata/identity/oauth2/tok\u00e9n?resource=x"]) {
      const res = await raw(target, { Metadata: "true" });
      expect(res.status, JSON.stringify(target)).toBe(400);
      expect(JSON.parse(res.body), JSON.stringify(target)).toEqual({ error: "invalid_request", error_description: "Invalid request" });
    }
    expect(seen.length).toBe(before);
  });

  it("refuses absolute-form targets instead of acting as a forward proxy", async () => {
    const res = await raw("http://169.254.169.254/metadata/identity/oauth2/token?resource=x", { Metadata: "true" });
    expect(res.status).toBe(400);
  });
});

describe("forwarding to the metadata endpoint (loopback stand-in)", () => {
  it("passes target and body through and strips relay and hop-by-hop headers", async () => {
    const before = seen.length;
    const res = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/metadata/instance/compute?api-version=2021-02-01&format=json",
          headers: {
            Metadata: "true",
            "X-Forwarded-Host": "evil",
            "X-Forwarded-Proto": "http",
            "X-Real-IP": "1.2.3.4",
            Via: "1.1 proxy",
            Connection: "x-hop",
            "X-Hop": "1",
            "X-Keep": "kept",
            "content-type": "text/plain",
          },
        },
        (r) => {
          let body = "";
          r.setEncoding("utf8");
          r.on("data", (c: string) => (body += c));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
        },
      );
      req.on("error", reject);
      req.end("payload");
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"compute":{}}');
    expect(res.headers["x-upstream"]).toBe("yes");
    expect(seen.length).toBe(before + 1);
    const got = seen[seen.length - 1];
    expect(got?.method).toBe("POST");
    expect(got?.url).toBe("/metadata/instance/compute?api-version=2021-02-01&format=json");
    expect(got?.body).toBe("payload");
    expect(got?.headers["metadata"]).toBe("true");
    expect(got?.headers["x-keep"]).toBe("kept");
    for (const name of ["x-forwarded-for", "forwarded", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "via", "x-hop"]) {
      expect(got?.headers[name], name).toBeUndefined();
    }
    expect(got?.headers.host).toBe(`127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  });

  it("never forwards a request carrying X-Forwarded-For or Forwarded (400 instead)", async () => {
    const before = seen.length;
    for (const header of ["X-Forwarded-For", "Forwarded"]) {
      const res = await raw("/metadata/instance?api-version=2021-02-01", { Metadata: "true", [header]: "for=1.2.3.4" });
      expect(res.status).toBe(400);
    }
    expect(seen.length).toBe(before);
  });
});

describe("token path over a real socket", () => {
  it("attributes the caller by the socket's peer address (127.0.0.1 here)", async () => {
    bindPod(h, { pod: "loopback-pod", ip: "127.0.0.1", identity: "id-loop" });
    const res = await raw(tokenUrl(), { Metadata: "true" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toHaveProperty("expires_on");
    h.cluster.remove("pods", "default", "loopback-pod");
  });

  it("answers on a kept-alive connection: HEAD with the headers only, then GET with the body", async () => {
    bindPod(h, { pod: "loopback-pod", ip: "127.0.0.1", identity: "id-loop" });
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (data += chunk));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const head = `HEAD ${tokenUrl()} HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n`;
    const get = `GET ${tokenUrl()} HTTP/1.1\r\nHost: x\r\nMetadata: true\r\nConnection: close\r\n\r\n`;
    socket.write(head + get);
    await closed;
    const answers = data.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((a) => /^HTTP\/1\.1 (\d{3})/.exec(a)?.[1])).toEqual(["200", "200"]);
    const [headAnswer = "", getAnswer = ""] = answers;
    const length = Number(/content-length: (\d+)/i.exec(headAnswer)?.[1]);
    expect(headAnswer.endsWith("\r\n\r\n")).toBe(true);
    expect(getAnswer.slice(getAnswer.indexOf("\r\n\r\n") + 4)).toHaveLength(length);
    expect(getAnswer).toMatch(/connection: close/i);
    h.cluster.remove("pods", "default", "loopback-pod");
  });

  it("aborts an assignment wait when the client disconnects", async () => {
    h.cluster.apply("pods", makePod({ name: "waiting-pod", ip: "127.0.0.1", selector: "nothing-yet" }));
    // A binding selects it, so it waits for MIC (issue #12: a pod no binding selects is answered at once).
    h.cluster.apply("azureidentitybindings", makeBinding(makeIdentity({ name: "id-waiting" }), "nothing-yet"));
    const service = h.engine;
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write(`GET ${tokenUrl()} HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n`);
    const deadline = Date.now() + 5_000;
    while (service?.waiting !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(service?.waiting).toBe(1);
    socket.destroy();
    while (service?.waiting !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(service?.waiting).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    const audit = h.logger.findAll("nmi decision").at(-1);
    expect(audit?.fields).toMatchObject({ podName: "waiting-pod", decision: "notFound", status: 404 });
    h.cluster.remove("pods", "default", "waiting-pod");
  });
});
