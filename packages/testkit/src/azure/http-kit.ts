import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";

/** Largest request body the fakes read (ARM PATCH bodies with 150 identities are ~25 KiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a request body as UTF-8; rejects bodies over {@link MAX_BODY_BYTES}. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Writes a JSON response unless the client went away. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/**
 * An HTTPS server for a fake listening on `host`: its certificate is issued by `ca` (default: the run's CA
 * from the environment) for `host`, 127.0.0.1 and localhost, so the real SDKs connect without overrides.
 */
export async function createTlsServer(host: string, ca: TestCertificateAuthority | undefined, listener: RequestListener): Promise<HttpsServer> {
  const authority = ca ?? TestCertificateAuthority.fromEnvironment();
  const pair = await authority.issueServerCertificate({ hosts: [...new Set([host, "127.0.0.1", "localhost"])] });
  return createHttpsServer({ cert: pair.cert, key: pair.key }, listener);
}

/** Listens on `host:port` (port 0 = ephemeral) and returns the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it holds (keep-alive clients would otherwise delay the close). */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** A URL host part for `host`, bracketing IPv6 literals. */
export function urlHost(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Resolves after `ms` real milliseconds (immediately for 0). */
export function realDelay(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after the current macrotask and every microtask queued before it have run. */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Path segments of a URL path, percent-decoded; `undefined` when a segment has a bad escape. */
export function pathSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** Case-insensitive equality (ARM path segments and IMDS's `/metadata` are case-insensitive). */
export function same(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** A header value as one string (first of repeated headers). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
