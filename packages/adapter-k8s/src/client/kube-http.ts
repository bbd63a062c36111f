import { STATUS_CODES, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { KubeConnection } from "./kube-connection.js";

/** Query parameters of a request; `undefined` values are left out. */
export type KubeQuery = Readonly<Record<string, string | number | boolean | undefined>>;

/** One API request as podid sends it. */
export interface KubeHttpRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path below the server URL, e.g. `/api/v1/namespaces/default/events`. */
  readonly path: string;
  readonly query?: KubeQuery;
  /** JSON body (serialised here). */
  readonly body?: unknown;
  /** Body content type (default `application/json`; patches name their strategy). */
  readonly contentType?: string;
}

/**
 * An API answer other than 2xx: the status code, the raw body (a `Status` JSON as a rule) and the headers
 * (`Retry-After`). `toKubeError` maps it to core's `KubeError`.
 */
export class KubeHttpError extends Error {
  readonly statusCode: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;

  /** An error for a non-2xx answer. */
  constructor(statusCode: number, body: string, headers: IncomingHttpHeaders) {
    super(`HTTP ${statusCode} ${STATUS_CODES[statusCode] ?? ""}`.trim());
    this.name = "KubeHttpError";
    this.statusCode = statusCode;
    this.body = body;
    this.headers = headers;
  }
}

function url(connection: KubeConnection, path: string, query: KubeQuery | undefined): URL {
  const target = new URL(connection.server + path);
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) target.searchParams.set(key, String(value));
  return target;
}

async function open(connection: KubeConnection, request: KubeHttpRequest, userAgent: string, signal: AbortSignal): Promise<IncomingMessage> {
  const { agent, headers } = await connection.prepare();
  const target = url(connection, request.path, request.query);
  const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = send(target, {
      method: request.method,
      agent,
      signal,
      headers: {
        ...headers,
        Accept: "application/json",
        "User-Agent": userAgent,
        ...(payload !== undefined ? { "Content-Type": request.contentType ?? "application/json", "Content-Length": payload.length } : {}),
      },
    });
    outgoing.once("response", resolve);
    outgoing.once("error", reject);
    outgoing.end(payload);
  });
}

async function readBody(response: IncomingMessage, onChunk?: () => void): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) {
    chunks.push(chunk as Buffer);
    onChunk?.();
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * How long a request may take: `signal` bounds the whole exchange, body included; `idleMs` bounds the wait
 * for the answer and then each gap between body chunks, so a large list page that keeps arriving on a
 * slow (e.g. CPU-starved) machine completes, while a server that stops sending is still cut off.
 */
export type KubeDeadline = { readonly signal: AbortSignal } | { readonly idleMs: number };

/**
 * Sends `request` over Node's HTTP client and returns the parsed JSON answer (`undefined` for an empty
 * body). Throws {@link KubeHttpError} for non-2xx answers and Node's network/abort errors otherwise.
 */
export async function sendKubeRequest(connection: KubeConnection, request: KubeHttpRequest, userAgent: string, deadline: KubeDeadline): Promise<unknown> {
  if ("signal" in deadline) return finish(await readAnswer(connection, request, userAgent, deadline.signal));
  const idle = new AbortController();
  const timer = setTimeout(() => idle.abort(new DOMException(`no answer from the API server for ${deadline.idleMs} ms`, "TimeoutError")), deadline.idleMs);
  try {
    return finish(await readAnswer(connection, request, userAgent, idle.signal, () => timer.refresh()));
  } finally {
    clearTimeout(timer);
  }
}

async function readAnswer(
  connection: KubeConnection,
  request: KubeHttpRequest,
  userAgent: string,
  signal: AbortSignal,
  onProgress?: () => void,
): Promise<{ response: IncomingMessage; text: string }> {
  const response = await open(connection, request, userAgent, signal);
  onProgress?.();
  return { response, text: await readBody(response, onProgress) };
}

function finish({ response, text }: { response: IncomingMessage; text: string }): unknown {
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) throw new KubeHttpError(status, text, response.headers);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KubeHttpError(status, text, response.headers);
  }
}

/**
 * Opens a watch (`watch=true` is added) and returns the streaming response once the server answered
 * 200; the caller reads newline-delimited watch events from it and aborts `signal` to close it. Throws
 * {@link KubeHttpError} (body read) for any other status.
 */
export async function openKubeWatch(connection: KubeConnection, path: string, query: KubeQuery, userAgent: string, signal: AbortSignal): Promise<IncomingMessage> {
  const response = await open(connection, { method: "GET", path, query: { ...query, watch: true } }, userAgent, signal);
  const status = response.statusCode ?? 0;
  if (status !== 200) throw new KubeHttpError(status, await readBody(response).catch(() => ""), response.headers);
  return response;
}
