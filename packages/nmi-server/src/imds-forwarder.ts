import { Agent, request as httpRequest } from "node:http";
import { err, ok, type Result } from "@podid/core";

/**
 * Forwarding of the requests NMI does not answer itself (everything but the token paths) to the real
 * metadata endpoint, with Node's HTTP client — the request target is passed through byte for byte, as
 * core's `classifyRequestPath` saw it. Off the token path: a token request never reaches this file.
 *
 * Which headers cross the proxy: IMDS refuses requests carrying `X-Forwarded-For`
 * (docs/compatibility.md#imds-wire-format) — the SSRF defence that tells a workload's own request from one
 * relayed by a proxy — so NMI never adds or passes one, and hop-by-hop headers belong to each connection, not
 * the message.
 * @packageDocumentation
 */

/** Request/response headers that describe one connection and are never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Headers that say "this request was relayed"; stripped so IMDS sees the request as NMI's own. */
const RELAY_HEADERS = new Set(["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "via"]);

/** Header values as Node reads and writes them. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** Names listed in a `Connection` header (they are hop-by-hop for this message too). */
function connectionTokens(headers: HeaderBag): Set<string> {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== "connection" || value === undefined) continue;
    for (const part of (Array.isArray(value) ? value : [String(value)]).join(",").split(",")) {
      const token = part.trim().toLowerCase();
      if (token !== "") out.add(token);
    }
  }
  return out;
}

/** Copies `headers` without the names in `drop` (compared lower-cased) and without empty values. */
function filtered(headers: HeaderBag, drop: (lowerName: string) => boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || drop(lower)) continue;
    out[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/**
 * The headers to send to IMDS: the pod's headers minus hop-by-hop, relay headers, `host` (set to the
 * metadata address by the client) and `content-length` (recomputed from the body that is actually sent).
 */
function upstreamRequestHeaders(headers: HeaderBag): Record<string, string | string[]> {
  const listed = connectionTokens(headers);
  return filtered(headers, (h) => HOP_BY_HOP.has(h) || RELAY_HEADERS.has(h) || listed.has(h) || h === "host" || h === "content-length");
}

/** The headers to return to the pod: IMDS's minus hop-by-hop and `content-length` (recomputed). */
function downstreamResponseHeaders(headers: HeaderBag): Record<string, string | string[]> {
  const listed = connectionTokens(headers);
  return filtered(headers, (h) => HOP_BY_HOP.has(h) || listed.has(h) || h === "content-length");
}


/** One request to forward. `target` is the origin-form path and query exactly as received. */
export interface ForwardRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderBag;
  readonly body?: Uint8Array;
  readonly signal?: AbortSignal;
}

/** IMDS's answer, buffered (metadata documents are small). */
export interface ForwardedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Uint8Array;
}

/** The upstream could not be reached or answered badly (the original answered such failures with 500). */
export interface ForwardError {
  readonly kind: "upstreamFailed";
  readonly message: string;
}

/** Sends a request to the metadata endpoint. */
export interface ImdsForwarder {
  forward(request: ForwardRequest): Promise<Result<ForwardedResponse, ForwardError>>;
  /** Releases pooled connections. */
  close(): void;
}

/** Options of {@link createHttpForwarder}. */
export interface HttpForwarderOptions {
  /** The metadata address (`--metadata-ip`), or a loopback stand-in in tests. */
  readonly address: string;
  readonly port: number;
  /** Whole-request timeout (`NmiConfig.proxyTimeoutMs`). */
  readonly timeoutMs: number;
  /** Largest response body accepted (default 4 MiB). */
  readonly maxResponseBytes?: number;
}

/** `host:port` for the Host header (IPv6 in brackets, port omitted when 80). */
function hostHeader(address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return port === 80 ? host : `${host}:${port}`;
}

/** A forwarder to `http://<address>:<port>` over a keep-alive connection pool. */
export function createHttpForwarder(options: HttpForwarderOptions): ImdsForwarder {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const maxBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
  const host = hostHeader(options.address, options.port);

  const forward = (req: ForwardRequest): Promise<Result<ForwardedResponse, ForwardError>> =>
    new Promise((resolve) => {
      let settled = false;
      const finish = (result: Result<ForwardedResponse, ForwardError>): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const fail = (message: string) => finish(err({ kind: "upstreamFailed", message }));
      try {
        const headers = { ...upstreamRequestHeaders(req.headers), host };
        const outgoing = httpRequest(
          {
            host: options.address,
            port: options.port,
            method: req.method,
            path: req.target,
            headers,
            agent,
            timeout: options.timeoutMs,
            ...(req.signal !== undefined ? { signal: req.signal } : {}),
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on("data", (chunk: Buffer) => {
              size += chunk.length;
              if (size > maxBytes) {
                res.destroy();
                fail(`metadata response larger than ${maxBytes} bytes`);
                return;
              }
              chunks.push(chunk);
            });
            res.on("end", () =>
              finish(ok({ status: res.statusCode ?? 502, headers: downstreamResponseHeaders(res.headers), body: Buffer.concat(chunks) })),
            );
            res.on("error", (e) => fail(e.message));
            res.on("aborted", () => fail("metadata response aborted"));
          },
        );
        outgoing.on("timeout", () => outgoing.destroy(new Error(`metadata request timed out after ${options.timeoutMs} ms`)));
        outgoing.on("error", (e) => fail(e.message));
        outgoing.end(req.body !== undefined && req.body.length > 0 ? req.body : undefined);
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e));
      }
    });

  return { forward, close: () => agent.destroy() };
}
