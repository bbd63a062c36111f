import type { NetnsHandle } from "./netns-handle.js";
import type { NetnsProcess } from "./netns-process.js";

/** An HTTP request made from inside a namespace by {@link httpRequestFrom}. */
export interface NetnsHttpRequest {
  readonly host: string;
  readonly port?: number;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Bound on the whole exchange (default 3 s). */
  readonly timeoutMs?: number;
}

/** What the client inside the namespace saw. */
export type NetnsHttpOutcome =
  | { readonly outcome: "response"; readonly status: number; readonly headers: Readonly<Record<string, string | string[] | undefined>>; readonly body: string }
  /** TCP RST in answer to the SYN: nothing listening, or a `REJECT --reject-with tcp-reset`. */
  | { readonly outcome: "refused" }
  /** The connection was reset after it was established. */
  | { readonly outcome: "reset" }
  | { readonly outcome: "timeout" }
  /** ICMP unreachable (no route). */
  | { readonly outcome: "unreachable"; readonly code: string }
  | { readonly outcome: "error"; readonly code: string; readonly message: string };

const CLIENT_SCRIPT = `
const http = require("node:http");
const o = JSON.parse(process.argv[1]);
let finished = false;
const done = (r) => { if (finished) return; finished = true; process.stdout.write(JSON.stringify(r)); process.exit(0); };
setTimeout(() => done({ outcome: "timeout" }), o.timeoutMs).unref();
const req = http.request({ host: o.host, port: o.port, path: o.path, method: o.method, headers: o.headers, agent: false }, (res) => {
  let body = "";
  res.setEncoding("utf8");
  res.on("data", (c) => { body += c; });
  res.on("end", () => done({ outcome: "response", status: res.statusCode, headers: res.headers, body }));
  res.on("error", (e) => done({ outcome: "error", code: e.code || "", message: e.message }));
});
req.on("error", (e) => done({ outcome: "error", code: e.code || "", message: e.message }));
req.end(o.body);
`;

/**
 * Makes one HTTP request from inside `ns` with Node's own client (a fresh connection, no agent) and
 * classifies the result: connection refused vs reset vs timeout vs unreachable are the facts the
 * interception tests are about. Never rejects.
 */
export async function httpRequestFrom(ns: NetnsHandle, request: NetnsHttpRequest): Promise<NetnsHttpOutcome> {
  const timeoutMs = request.timeoutMs ?? 3_000;
  const options = {
    host: request.host,
    port: request.port ?? 80,
    path: request.path ?? "/",
    method: request.method ?? "GET",
    headers: request.headers ?? {},
    body: request.body,
    timeoutMs,
  };
  const result = await ns.runNode(CLIENT_SCRIPT, [JSON.stringify(options)], { timeoutMs: timeoutMs + 5_000 });
  if (result.exitCode !== 0) {
    return { outcome: "error", code: result.timedOut ? "HARNESS_TIMEOUT" : "HARNESS", message: `client failed: ${result.stderr.trim()}` };
  }
  const parsed = JSON.parse(result.stdout) as NetnsHttpOutcome;
  if (parsed.outcome !== "error") return parsed;
  if (parsed.code === "ECONNREFUSED") return { outcome: "refused" };
  if (parsed.code === "ECONNRESET") return { outcome: "reset" };
  if (parsed.code === "EHOSTUNREACH" || parsed.code === "ENETUNREACH") return { outcome: "unreachable", code: parsed.code };
  return parsed;
}

/** Result of {@link curlFrom}: curl's exit code (0 ok, 7 could not connect, 28 timeout, 56 reset) and the response. */
export interface CurlResult {
  readonly exitCode: number | null;
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  readonly body: string;
  readonly stderr: string;
}

/** Runs the unmodified `curl` inside `ns` against `url` (bounded by `--max-time`). */
export async function curlFrom(ns: NetnsHandle, url: string, options: { readonly headers?: Readonly<Record<string, string>>; readonly timeoutSeconds?: number } = {}): Promise<CurlResult> {
  const marker = "\n__podid_status__:";
  const headerArgs = Object.entries(options.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  const seconds = options.timeoutSeconds ?? 3;
  const result = await ns.exec(["curl", "-sS", "--max-time", String(seconds), ...headerArgs, "-w", `${marker}%{http_code}`, url], { timeoutMs: seconds * 1000 + 5_000 });
  const at = result.stdout.lastIndexOf(marker);
  const body = at >= 0 ? result.stdout.slice(0, at) : result.stdout;
  const status = at >= 0 ? Number(result.stdout.slice(at + marker.length)) : 0;
  return { exitCode: result.exitCode, ...(status > 0 ? { status } : {}), body, stderr: result.stderr };
}

/** One TCP connection or HTTP request seen by a {@link RecordingHttpServer}. */
export interface RecordedHttpEvent {
  readonly event: "connection" | "request";
  readonly server: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly method?: string;
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

const SERVER_SCRIPT = `
const http = require("node:http");
const o = JSON.parse(process.argv[1]);
const out = (r) => process.stdout.write(JSON.stringify(r) + "\\n");
const where = (s) => ({ server: o.name, remoteAddress: s.remoteAddress, remotePort: s.remotePort, localAddress: s.localAddress, localPort: s.localPort });
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    out({ event: "request", ...where(req.socket), method: req.method, url: req.url, headers: req.headers });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ server: o.name, remoteAddress: req.socket.remoteAddress, url: req.url }));
  });
});
server.on("connection", (s) => out({ event: "connection", ...where(s) }));
server.listen(o.port, o.host, () => out({ event: "listening", server: o.name, address: server.address() }));
process.on("SIGTERM", () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

/**
 * A tiny HTTP server running inside a namespace (the stand-in IMDS or NMI) that answers every request
 * with `{"server": name, "remoteAddress": …}` and reports each connection and request, so a test can
 * prove who reached it, from which source address, or that nobody did.
 */
export class RecordingHttpServer {
  /** The name it answers with. */
  readonly name: string;
  /** The server process. */
  readonly process: NetnsProcess;

  private constructor(name: string, proc: NetnsProcess) {
    this.name = name;
    this.process = proc;
  }

  /** Starts the server in `ns` on `host:port` and waits (bounded) until it listens. */
  static async start(ns: NetnsHandle, options: { readonly host: string; readonly port: number; readonly name: string; readonly timeoutMs?: number }): Promise<RecordingHttpServer> {
    const proc = ns.spawnNode(SERVER_SCRIPT, [JSON.stringify({ host: options.host, port: options.port, name: options.name })]);
    try {
      await proc.waitForLine((line) => line.includes('"event":"listening"'), options.timeoutMs ?? 10_000);
    } catch (error) {
      await proc.stop("SIGKILL");
      throw error;
    }
    return new RecordingHttpServer(options.name, proc);
  }

  /** Every connection and request seen so far. */
  events(): readonly RecordedHttpEvent[] {
    return this.process
      .lines()
      .map((line) => JSON.parse(line) as RecordedHttpEvent | { event: "listening" })
      .filter((e): e is RecordedHttpEvent => e.event === "connection" || e.event === "request");
  }

  /** The requests seen so far. */
  requests(): readonly RecordedHttpEvent[] {
    return this.events().filter((e) => e.event === "request");
  }

  /** Waits (bounded) until at least `count` requests were seen; resolves with them. */
  async waitForRequests(count: number, timeoutMs = 5_000): Promise<readonly RecordedHttpEvent[]> {
    await this.process.waitForLine(() => this.requests().length >= count, timeoutMs).catch(() => undefined);
    return this.requests();
  }

  /** True while the server process runs. */
  get running(): boolean {
    return this.process.exit === undefined;
  }

  /** Stops the server (`SIGTERM` by default; `SIGKILL` to simulate a crash). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await this.process.stop(signal);
  }
}
