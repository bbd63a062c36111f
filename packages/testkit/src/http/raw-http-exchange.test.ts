import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHttpExchange } from "./raw-http-exchange.js";

let server: Server;
let port = 0;
const seen: { headers: string[]; remote: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ headers: req.rawHeaders, remote: req.socket.remoteAddress ?? "" });
    if (req.url === "/silent") return; // never answers
    const body = JSON.stringify({ url: req.url });
    res.writeHead(201, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "X-Echo": req.headers["podns"] ?? "" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("rawHttpExchange", () => {
  it("sends the bytes as written (header case kept) from the given address and reads one framed response", async () => {
    const res = await rawHttpExchange(port, "GET /host/token/?resource=https://vault.azure.net HTTP/1.1\r\nHost: localhost:2579\r\nPodns: default\r\n\r\n", { localAddress: "127.0.0.7" });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-echo")).toBe("default");
    expect(JSON.parse(res.body)).toEqual({ url: "/host/token/?resource=https://vault.azure.net" });
    expect(seen.at(-1)).toEqual({ headers: ["Host", "localhost:2579", "Podns", "default"], remote: "127.0.0.7" });
  });

  it("rejects when no complete response arrives in time", async () => {
    await expect(rawHttpExchange(port, "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n", { timeoutMs: 200 })).rejects.toThrow(/no complete response within 200 ms/);
  });
});
