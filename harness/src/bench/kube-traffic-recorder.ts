import { createServer, request, Agent, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback HTTP proxy between a client under test and a (fake) kube-apiserver that records what the client
 * asked for and what it was sent: every list (path, selectors, objects returned) and every watch event
 * (bookmarks apart). It sees the bytes the client really receives, so it counts for any client technology.
 * @packageDocumentation
 */

/** One list request (each page is one record). */
export interface RecordedList {
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Items in the response body. */
  readonly objects: number;
}

/** One watch request. */
export interface RecordedWatch {
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** One watch event sent to the client (never a `BOOKMARK`). */
export interface RecordedWatchEvent {
  readonly path: string;
  readonly type: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** Upper bound on recorded events, so a runaway client cannot grow the recorder without limit. */
const MAX_EVENTS = 100_000;

function selectors(query: URLSearchParams): { labelSelector?: string; fieldSelector?: string } {
  const labelSelector = query.get("labelSelector") ?? undefined;
  const fieldSelector = query.get("fieldSelector") ?? undefined;
  return { ...(labelSelector !== undefined ? { labelSelector } : {}), ...(fieldSelector !== undefined ? { fieldSelector } : {}) };
}

/** Records a client's kube-apiserver traffic; point the client's kubeconfig at {@link url}. */
export class KubeTrafficRecorder {
  readonly lists: RecordedList[] = [];
  readonly watches: RecordedWatch[] = [];
  readonly watchEvents: RecordedWatchEvent[] = [];
  /** Every request proxied: method and path (no query), in arrival order. */
  readonly requests: { readonly method: string; readonly path: string }[] = [];
  readonly #server: Server;
  readonly #upstream: URL;
  readonly #agent = new Agent({ keepAlive: true });

  private constructor(server: Server, upstream: URL) {
    this.#server = server;
    this.#upstream = upstream;
  }

  /** Starts the proxy on 127.0.0.1 in front of the plain-HTTP apiserver at `upstreamUrl`. */
  static async start(upstreamUrl: string): Promise<KubeTrafficRecorder> {
    const server = createServer();
    const recorder = new KubeTrafficRecorder(server, new URL(upstreamUrl));
    server.on("request", (req, res) => recorder.#forward(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return recorder;
  }

  /** The proxy's base URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Stops the proxy and ends every proxied connection (watches included). */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.#upstream);
    const watch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    const isGet = (req.method ?? "GET") === "GET";
    this.requests.push({ method: req.method ?? "GET", path: url.pathname });
    if (watch) this.watches.push({ path: url.pathname, ...selectors(url.searchParams) });
    const upstream = request(
      { host: this.#upstream.hostname, port: this.#upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: this.#upstream.host }, agent: this.#agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (watch) this.#countEvents(url.pathname, answer);
        else if (isGet) this.#countList(url, answer);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }

  #countList(url: URL, answer: IncomingMessage): void {
    const chunks: Buffer[] = [];
    answer.on("data", (chunk: Buffer) => chunks.push(chunk));
    answer.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return;
      }
      const items = (body as { items?: unknown } | null)?.items;
      if (Array.isArray(items)) this.lists.push({ path: url.pathname, ...selectors(url.searchParams), objects: items.length });
    });
  }

  #countEvents(path: string, answer: IncomingMessage): void {
    let pending = "";
    answer.setEncoding("utf8");
    answer.on("data", (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        this.#event(path, pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
    });
  }

  #event(path: string, line: string): void {
    if (line.trim() === "" || this.watchEvents.length >= MAX_EVENTS) return;
    let event: { type?: unknown; object?: { kind?: unknown; metadata?: { namespace?: unknown; name?: unknown } } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    if (event.type === "BOOKMARK") return;
    const meta = event.object?.metadata;
    this.watchEvents.push({
      path,
      type: String(event.type),
      kind: String(event.object?.kind ?? ""),
      namespace: typeof meta?.namespace === "string" ? meta.namespace : "",
      name: typeof meta?.name === "string" ? meta.name : "",
    });
  }
}
