import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listenAlso, type ExtraListener } from "./extra-listener.js";

/** GET / on host:port; resolves with the body. */
function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("listenAlso", () => {
  let server: Server | undefined;
  let extra: ExtraListener | undefined;
  afterEach(async () => {
    await extra?.close();
    await new Promise((r) => (server === undefined ? r(undefined) : server.close(r)));
    extra = undefined;
    server = undefined;
  });

  it("hands connections to the main server, whose handler and connection listeners see them", async () => {
    const seen: string[] = [];
    server = createServer((req, res) => res.end(`main:${req.socket.localPort === (server!.address() as AddressInfo).port ? "primary" : "extra"}`));
    server.on("connection", () => seen.push("connection"));
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    extra = await listenAlso(server, "127.0.0.1", 0);
    expect(await get("127.0.0.1", extra.address.port)).toBe("main:extra");
    expect(await get("127.0.0.1", (server.address() as AddressInfo).port)).toBe("main:primary");
    expect(seen).toEqual(["connection", "connection"]);
  });

  it("rejects when the address cannot be bound (the port is taken)", async () => {
    server = createServer((_req, res) => res.end("x"));
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    await expect(listenAlso(server, "127.0.0.1", (server.address() as AddressInfo).port)).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
