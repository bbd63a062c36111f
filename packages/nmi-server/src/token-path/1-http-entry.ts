import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { IMDS_CONTENT_TYPE, type ClockPort, type EventRecorderPort, type KubeReaderPort, type LoggerPort, type MetricsPort, type SecretProviderClassReaderPort, type ServiceAccountTokenReaderPort, type TokenSourcePort } from "@podid/core";
import type { NmiConfig } from "../config/nmi-config.js";
import { limitConnections } from "../connection-limits.js";
import { createHttpForwarder, type ImdsForwarder } from "../imds-forwarder.js";
import type { CallerInterfaces } from "../anti-spoofing-keeper.js";
import { NmiEngine } from "./2-routes.js";
import type { AuditWriter, NmiReply } from "./7-response-audit.js";

/**
 * Token path, step 1 of 8 — the HTTP entry. {@link createNmiServer} builds the token server as a fastify
 * instance. Fastify only carries bytes here: ONE catch-all handler receives every request (any method,
 * any path, even URLs the router calls malformed) and hands the raw request target to the engine (step 2),
 * where core's `classifyRequestPath` decides what it is; the router's own matching never decides what is
 * a token request. NMI's own answers are written to the raw response (see `send`).
 * @packageDocumentation
 */

/** The ports the token server runs on. */
export interface NmiServerPorts {
  readonly kube: KubeReaderPort;
  readonly tokenSource: TokenSourcePort;
  readonly clock: ClockPort;
  /** Operational lines, and audit records unless `audit` is given. */
  readonly logger: LoggerPort;
  /** Where audit records go (default: one `info` line each through `logger`; production: `PinoAuditWriter`). */
  readonly audit?: AuditWriter;
  readonly metrics: MetricsPort;
  /** Where forwarded requests go (default: HTTP to `config.metadataAddress:metadataPort`, `config.proxyTimeoutMs`). */
  readonly forwarder?: ImdsForwarder;
  /** Where NMI records Events (a refused forged or stale AzureAssignedIdentity); default: none. */
  readonly events?: EventRecorderPort;
  /** SecretProviderClass reads for `--host-token=scoped` (docs/adr/0019-scoped-host-token.md); default: none. */
  readonly secretProviderClasses?: SecretProviderClassReaderPort;
  /** Pods' projected service-account tokens for federated identities (docs/adr/0021-federated-identities.md); default: none (503). */
  readonly serviceAccountTokens?: ServiceAccountTokenReaderPort;
  /** Anti-spoofing's resolved-interface state (docs/adr/0010-anti-spoofing.md); absent: attribution by source IP alone. */
  readonly callerInterfaces?: CallerInterfaces;
  /**
   * A logger for fastify's own internal lines (build it with `createNmiPino` for redaction). Default: none.
   * NMI logs every refused or failed request itself through `logger`, and a fastify logger costs a child
   * logger per request (about 7 % of cached-token throughput in the NMI benchmark), so production runs
   * without one.
   */
  readonly pino?: Logger;
}

/** The fastify instance type NMI returns. */
export type NmiApp = FastifyInstance;

/** The token server: the fastify instance to listen with, and the engine behind it. */
export interface NmiServer {
  readonly app: NmiApp;
  /** For composition, tests and benchmarks (`waiting`, `serve`). */
  readonly engine: NmiEngine;
}

/**
 * Builds the token server from the one {@link NmiConfig} and the ports. Fastify options: `routerOptions`
 * case-insensitive with the trailing slash ignored (IMDS semantics for the router's own matching, which
 * only the catch-all uses), `trustProxy` off
 * (the caller is the socket's peer, never a header), request ids from `x-ms-client-request-id`, request
 * bodies kept raw (only ever forwarded), and shutdown 503s rendered by NMI itself in IMDS's shape. Closing
 * the app (SIGTERM) first answers every waiting request 503, then lets in-flight requests finish.
 */
export function createNmiServer(config: NmiConfig, ports: NmiServerPorts): NmiServer {
  const ownForwarder = ports.forwarder === undefined;
  const forwarder =
    ports.forwarder ?? createHttpForwarder({ address: config.metadataAddress, port: config.metadataPort, timeoutMs: config.proxyTimeoutMs });
  const engine = new NmiEngine(config, { ...ports, forwarder });

  // Not an async function: a token answered from memory is written in the same turn it was asked for.
  // A synchronous answer is sent and `undefined` returned (fastify's contract for sync handlers: returning the
  // reply, a thenable, would make fastify wait on it); a waiting one returns the promise of the sent reply.
  const handle = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined => {
    const body = request.body;
    const served = engine.serve({
      requestId: String(request.id),
      method: request.raw.method ?? request.method,
      httpVersion: request.raw.httpVersion,
      rawTarget: request.raw.url ?? "",
      headers: request.raw.headers,
      remoteAddress: request.socket.remoteAddress ?? "",
      onClientGone: (listener) => onClientGone(reply.raw, reply.request.raw.socket, listener),
      ...(body instanceof Uint8Array ? { body } : {}),
    });
    if (served instanceof Promise) return served.then((s) => send(reply, s.reply));
    send(reply, served.reply);
    return undefined;
  };

  /**
   * A request NMI answers itself (a token request: `engine.serveIfOwnAnswer`) is answered here, before fastify
   * builds its request and reply objects: NMI's own answer needs nothing fastify adds (no hooks; no routing,
   * since every request reaches the one handler anyway; no body, which fastify never reads for a GET either),
   * and those objects were about a tenth of a cached-token request's CPU time in the NMI benchmark.
   * Everything else (forwarded routes, other methods) goes through fastify. Returns false for those.
   */
  const answerOwn = (req: IncomingMessage, res: ServerResponse): boolean => {
    const requestId = requestIdFrom(req.headers[CLIENT_REQUEST_ID_HEADER]);
    let served: ReturnType<NmiEngine["serveIfOwnAnswer"]>;
    try {
      served = engine.serveIfOwnAnswer({
        requestId,
        method: req.method ?? "",
        httpVersion: req.httpVersion,
        rawTarget: req.url ?? "",
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress ?? "",
        onClientGone: (listener) => onClientGone(res, req.socket, listener),
      });
    } catch (error) {
      answerFailure(ports.logger, res, requestId, error);
      return true;
    }
    if (served === undefined) return false;
    // The failure handler is made only for a request that waits (a closure per request costs an allocation).
    if (served instanceof Promise) served.then((s) => writeAnswer(res, ownReply(s.reply)), (error: unknown) => answerFailure(ports.logger, res, requestId, error));
    else writeAnswer(res, ownReply(served.reply));
    return true;
  };

  const app = Fastify({
    serverFactory: (fastifyHandler) =>
      createServer((req, res) => {
        if (!answerOwn(req, res)) fastifyHandler(req, res);
      }),
    ...(ports.pino !== undefined
      ? {
          loggerInstance: ports.pino as FastifyBaseLogger,
          // NMI writes its own audit line per request instead of fastify's two.
          logController: new LogController({ disableRequestLogging: true }),
          // No per-request child logger: NMI never logs through `request.log`, and pino would redact the
          // bindings of every child (a third of the server's time in a cached-token benchmark).
          childLoggerFactory: (logger: FastifyBaseLogger) => logger,
        }
      : { logger: false }),
    routerOptions: {
      caseSensitive: false,
      ignoreTrailingSlash: true,
      // NMI reads every query with core's parser from the raw target (`classifyRequestPath`), never through
      // `request.query`, so fastify's own parse of each query string is skipped.
      querystringParser: () => NO_QUERY,
    },
    trustProxy: false,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (raw) => requestIdFrom(raw.headers[CLIENT_REQUEST_ID_HEADER]),
    return503OnClosing: false,
    // URLs find-my-way cannot decode still go to the one handler: core rejects them with IMDS's 400.
    frameworkErrors: (_error, request, reply) => {
      // Outside fastify's handler plumbing: a failure goes to the error handler below instead of being left unhandled.
      const failed = (error: unknown): void => {
        if (!reply.sent) void (reply as FastifyReply).send(error instanceof Error ? error : new Error(String(error)));
      };
      try {
        const handled = handle(request, reply);
        if (handled instanceof Promise) handled.catch(failed);
      } catch (error) {
        failed(error);
      }
    },
    clientErrorHandler: (error, socket) => {
      const code = (error as Error & { code?: string }).code ?? "";
      if (code === "ECONNRESET" || socket.destroyed || !socket.writable) {
        socket.destroy();
        return;
      }
      const answer = parserErrorResponse(code);
      ports.logger.warn({ status: answer.status, code }, "request refused by the HTTP parser");
      socket.end(answer.raw);
    },
  });
  // Per-pod and total connection caps at accept time, and the header/request/keep-alive timeouts.
  limitConnections(app.server, config);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.route({ method: app.supportedMethods, url: "/*", handler: handle });
  app.setNotFoundHandler(handle);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = frameworkErrorBody(error);
    ports.logger.warn({ requestId: String(request.id), status, code: error.code ?? "" }, "request refused before NMI's handler");
    return reply.code(status).header("content-type", IMDS_CONTENT_TYPE).send(body);
  });
  app.addHook("preClose", async () => {
    engine.beginShutdown();
  });
  app.addHook("onClose", async () => {
    engine.close();
    if (ownForwarder) forwarder.close();
  });
  return { app, engine };
}

// ── request ids ──

/**
 * The header the Azure SDK sends its correlation id in (a GUID; docs/compatibility.md#imds-wire-format).
 * Using it as the request id lets an operator find a client's request in NMI's audit log; the header is the
 * pod's to choose, so only a short plain token is accepted and anything else gets a fresh id.
 */
const CLIENT_REQUEST_ID_HEADER = "x-ms-client-request-id";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Ids NMI makes up itself: a random prefix per process and a counter, unique across restarts and as
 * cheap as a string concatenation (curl and most non-Azure clients send no id, so this runs per request).
 */
const PROCESS_PREFIX = `nmi-${randomUUID().slice(0, 8)}-`;
let issued = 0;

/** A fresh request id. */
function newRequestId(): string {
  issued += 1;
  return PROCESS_PREFIX + issued.toString(36);
}

/** The id for a request with this `x-ms-client-request-id` value (a fresh id when absent or unsafe). */
function requestIdFrom(header: string | readonly string[] | undefined): string {
  return typeof header === "string" && SAFE_ID.test(header) ? header : newRequestId();
}

// ── writing answers and refusals ──

/** `request.query` of every request (see `querystringParser` below). */
const NO_QUERY: Readonly<Record<string, never>> = Object.freeze({});

/** A response body as written: its JSON text encoded as UTF-8, and that encoding's length. */
interface SerialisedBody {
  readonly bytes: Buffer;
  readonly length: number;
  /** The last head written with this body, and the headers object it was built from (see `headFor`). */
  head?: { readonly from: Readonly<Record<string, string>>; readonly value: Readonly<Record<string, string | number>> };
}

/**
 * Serialised token bodies: a cached token is the same object on every hit, so its JSON is computed and
 * encoded once. Weak keys: entries go with the tokens the cache drops.
 *
 * Why bytes rather than the JSON string: Node writes a string body by appending it to the response head and
 * encoding the joined string, on every response — about 1.3 KB of fresh string per token answer, and in
 * `bench:nmi` a bare server answering from a `Buffer` took 4–8 % less CPU per request than the same server
 * answering from a string (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, sixth addendum). Bytes go out
 * as they are, beside the head.
 */
const serialised = new WeakMap<object, SerialisedBody>();

/** UTF-8 JSON and its byte length of a response body (memoised per object). */
function serialise(body: object): SerialisedBody {
  let entry = serialised.get(body);
  if (entry === undefined) {
    const bytes = Buffer.from(JSON.stringify(body), "utf8");
    entry = { bytes, length: bytes.length };
    serialised.set(body, entry);
  }
  return entry;
}

/**
 * Writes an engine reply. Why fastify is bypassed here: NMI's own answers (its headers, a JSON body) go
 * straight to the raw response after `reply.hijack()`, because fastify's `send` would add nothing to them
 * — no hooks, no serializer, nothing to log — yet cost about a twentieth of a cached-token request in the
 * NMI benchmark. Forwarded answers carry upstream's headers, so they take fastify's path, whose error
 * handling turns a header Node refuses into IMDS's 500.
 */
function send(reply: FastifyReply, answer: NmiReply): FastifyReply {
  if (answer.kind === "forwarded") {
    const { status, headers, body } = answer.response;
    return reply.code(status).headers(headers).send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }
  // Fastify bypassed on purpose: its `send` adds nothing to NMI's own answers but costs time (see above).
  reply.hijack();
  writeAnswer(reply.raw, answer);
  return reply;
}

/** One of NMI's own answers (not a forwarded one). */
type OwnReply = Exclude<NmiReply, { readonly kind: "forwarded" }>;

/** The answer to a request whose handling failed (as fastify's error handler renders it). */
const INTERNAL_ERROR_REPLY: OwnReply = {
  kind: "imds",
  response: { status: 500, headers: { "content-type": IMDS_CONTENT_TYPE }, body: { error: "server_error", error_description: "internal error" } },
  closeConnection: false,
};

/**
 * The answer to write without fastify. Only requests NMI answers itself take that path; should a forwarded answer ever reach it, it is refused as a 500 rather than written
 * without fastify's header checks.
 */
function ownReply(answer: NmiReply): OwnReply {
  return answer.kind === "forwarded" ? INTERNAL_ERROR_REPLY : answer;
}

/** Logs a failure of NMI's handler and answers it as fastify's error handler does (500), unless an answer was sent. */
function answerFailure(logger: LoggerPort, res: ServerResponse, requestId: string, error: unknown): void {
  logger.warn({ requestId, status: 500, code: "", error: error instanceof Error ? error.message : String(error) }, "request failed in NMI's handler");
  if (!res.headersSent) writeAnswer(res, INTERNAL_ERROR_REPLY);
}

/** Writes one of NMI's own answers to the raw response (its encoded JSON cached per body object). */
function writeAnswer(res: ServerResponse, answer: OwnReply): void {
  const { status, headers, body } = answer.response;
  const serialisedBody = serialise(body);
  res.writeHead(status, headFor(serialisedBody, headers, answer.closeConnection));
  res.end(serialisedBody.bytes);
}

/**
 * The response headers: `headers` with the body's length (and `connection: close` when asked). A cached
 * token is answered with the same body and the same (frozen) headers object every time, so the last head
 * built for a body is kept with it and reused while the headers object is the same; Node only reads it.
 */
function headFor(body: SerialisedBody, headers: Readonly<Record<string, string>>, closeConnection: boolean): Readonly<Record<string, string | number>> {
  if (closeConnection) return { ...headers, "content-length": body.length, connection: "close" };
  const kept = body.head;
  if (kept !== undefined && kept.from === headers) return kept.value;
  const value = { ...headers, "content-length": body.length };
  body.head = { from: headers, value };
  return value;
}

/**
 * Calls `listener` once if the connection closes before the answer is written (a `close` after the
 * answer is the normal end of the exchange); at once if it is already gone.
 */
function onClientGone(res: ServerResponse, socket: { readonly destroyed: boolean } | null | undefined, listener: (reason: Error) => void): () => void {
  const gone = (): void => {
    if (!res.writableEnded) listener(new Error("client disconnected"));
  };
  if (res.destroyed || socket?.destroyed === true) {
    gone();
    return () => undefined;
  }
  res.once("close", gone);
  return () => res.off("close", gone);
}

/** An IMDS-shaped answer for errors fastify raises before the handler (body too large, bad framing). */
function frameworkErrorBody(error: FastifyError): { status: number; body: string } {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  const code = status < 500 ? "invalid_request" : "server_error";
  const description = status < 500 ? error.message : "internal error";
  return { status, body: JSON.stringify({ error: code, error_description: description }) };
}

/** Node's HTTP parser error codes with their own status (fastify's default `clientErrorHandler` uses them too). */
const PARSER_ERROR_STATUS: Readonly<Record<string, { readonly status: number; readonly text: string; readonly description: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, text: "Request Header Fields Too Large", description: "request header fields too large" },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, text: "Request Timeout", description: "request timeout" },
};

/**
 * The raw answer to a request Node's HTTP parser refuses before fastify sees it (a target not starting
 * with `/`, raw tabs or bytes ≥ 0x80 in it, broken framing, …): IMDS's JSON shape like every other NMI
 * error, instead of fastify's default `{"error":"Bad Request","message":"Client Error"}`.
 */
function parserErrorResponse(code: string): { readonly status: number; readonly raw: string } {
  const known = PARSER_ERROR_STATUS[code] ?? { status: 400, text: "Bad Request", description: "Invalid request" };
  const body = JSON.stringify({ error: "invalid_request", error_description: known.description });
  const raw =
    `HTTP/1.1 ${String(known.status)} ${known.text}\r\ncontent-type: ${IMDS_CONTENT_TYPE}\r\ncontent-length: ${String(Buffer.byteLength(body))}\r\n` +
    `connection: close\r\n\r\n${body}`;
  return { status: known.status, raw };
}
