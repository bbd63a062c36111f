import { Agent, request as httpRequest } from "node:http";
import { err, ok, type Result } from "@podid/core";
import { downstreamResponseHeaders, upstreamRequestHeaders, type HeaderBag } from "./forward-headers.js";

/**
 * Forwarding of the requests NMI does not answer itself (everything but the token paths) to the real
 * metadata endpoint, with Node's HTTP client — the request target is passed through byte for byte, as
 * core's `classifyRequestPath` saw it.
 * @packageDocumentation
 */

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
  /** Whole-request timeout (the original had none). */
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
