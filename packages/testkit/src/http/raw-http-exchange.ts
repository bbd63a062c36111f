/**
 * One HTTP/1.1 exchange with exact request bytes: for tests that replay what a real client (a Go driver, curl,
 * an attacker) puts on the wire, byte for byte, where an HTTP client library would normalise headers.
 * @packageDocumentation
 */
import { connect } from "node:net";

/** The response to {@link rawHttpExchange}. */
export interface RawHttpResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/**
 * Writes `bytes` (latin1) on a new connection to `127.0.0.1:port` from `localAddress` and reads exactly one
 * response, framed by its `Content-Length` (a chunked response never completes: the servers under test frame
 * theirs), the connection is left open until then, as a keep-alive client (Go's)
 * leaves it. Rejects after `timeoutMs` (default 20 s) without a complete response.
 */
export function rawHttpExchange(port: number, bytes: string, options: { readonly localAddress?: string; readonly timeoutMs?: number } = {}): Promise<RawHttpResponse> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress: options.localAddress ?? "127.0.0.1" });
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms; got ${JSON.stringify(data.toString("latin1"))}`));
    }, timeoutMs);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine = "", ...lines] = data.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()] as const));
      const length = Number(headers.get("content-length"));
      if (!Number.isInteger(length) || data.length < end + 4 + length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0), headers, body: data.subarray(end + 4, end + 4 + length).toString("utf8") });
    });
    socket.write(bytes, "latin1");
  });
}
