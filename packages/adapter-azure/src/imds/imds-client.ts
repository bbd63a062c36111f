import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import {
  err,
  parseRetryAfter,
  toImdsTokenBody,
  type CancellationSignal,
  type ImdsTokenBody,
  type Result,
  type TokenSourceError,
  type TokenSourceRequest,
} from "@podid/core";

/** The managed-identity variant of core's token request. */
export type ManagedIdentityRequest = Extract<TokenSourceRequest, { readonly kind: "managedIdentity" }>;

/** Azure's link-local IMDS address (the original's `--metadata-ip` / `--metadata-port` defaults). */
export const DEFAULT_IMDS_ENDPOINT = "http://169.254.169.254";

/**
 * The IMDS base URL for NMI's `--metadata-ip` and `--metadata-port` (defaults `169.254.169.254` and `80`),
 * bracketing IPv6 addresses.
 */
export function metadataEndpoint(ip: string, port: number | string): string {
  const host = ip.includes(":") && !ip.startsWith("[") ? `[${ip}]` : ip;
  return String(port) === "80" ? `http://${host}` : `http://${host}:${String(port)}`;
}

/** The api-version the original (adal) and the docs use for the identity endpoint. */
export const IMDS_TOKEN_API_VERSION = "2018-02-01";

/** IMDS's token path. */
export const IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token";

/** When IMDS answers 429 without `Retry-After`: its managed-identity limit is per second. */
export const DEFAULT_IMDS_RETRY_AFTER_MS = 1_000;

/** Options of {@link ImdsClient}. */
export interface ImdsClientOptions {
  /**
   * Base URL of IMDS, default {@link DEFAULT_IMDS_ENDPOINT}. NMI builds it from `--metadata-ip` and
   * `--metadata-port`; tests point it at a loopback fake.
   */
  readonly endpoint?: string;
  /** `api-version` query value (default {@link IMDS_TOKEN_API_VERSION}). */
  readonly apiVersion?: string;
  /** Per-request timeout (default 10 s); IMDS answers in milliseconds unless it is overloaded or updating. */
  readonly timeoutMs?: number;
  /** Clock in ms since the epoch (default `Date.now`), for `expires_on` and `Retry-After` dates. */
  readonly now?: () => number;
}

/** IMDS's error body (`{ error, error_description }`), read leniently. */
function errorFields(text: string): { error: string; description: string } {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === "object" && body !== null) {
      const record = body as Record<string, unknown>;
      const error = typeof record["error"] === "string" ? record["error"] : "";
      const description = typeof record["error_description"] === "string" ? record["error_description"] : "";
      if (error !== "" || description !== "") return { error, description };
    }
  } catch {
    // Not JSON: fall through and report the text itself.
  }
  return { error: "unknown", description: text.slice(0, 500) };
}

/** A web `AbortSignal` that fires on the caller's signal or after `timeoutMs`. */
function linkedSignal(timeoutMs: number, signal: CancellationSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`IMDS did not answer within ${timeoutMs} ms`)), timeoutMs);
  const onAbort = () => controller.abort(signal?.reason ?? new Error("cancelled"));
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * Calls IMDS's managed-identity token endpoint with `fetch` and passes its JSON through (normalised by
 * core's `toImdsTokenBody` to IMDS's all-string shape with `expires_on` and `client_id`), so no field a
 * client might read is lost — `ManagedIdentityCredential` would keep only the token and its expiry.
 *
 * The request carries `Metadata: true` and nothing that identifies a caller: never `X-Forwarded-For`,
 * which IMDS rejects. Outcomes: 200 → the body; 429 → `throttled` (Retry-After honoured); 404 and 410
 * (IMDS "updating / identity not yet available", documented as retryable) and 5xx → `unavailable`; any
 * other 4xx, e.g. 400 "Identity not found" → `rejected` with IMDS's `error` and `error_description`;
 * network errors and timeouts → `unavailable`. There are no retries here: NMI's token cache and upstream
 * budget decide when to ask again, and the pod's SDK retries NMI's 503.
 */
export class ImdsClient {
  readonly #endpoint: string;
  readonly #apiVersion: string;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  /** Creates a client for one IMDS endpoint. */
  constructor(options: ImdsClientOptions = {}) {
    this.#endpoint = (options.endpoint ?? DEFAULT_IMDS_ENDPOINT).replace(/\/+$/, "");
    this.#apiVersion = options.apiVersion ?? IMDS_TOKEN_API_VERSION;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** The token URL for `request` (exposed for logs and tests; carries no secret). */
  tokenUrl(request: ManagedIdentityRequest): URL {
    const url = new URL(`${this.#endpoint}${IMDS_TOKEN_PATH}`);
    url.searchParams.set("api-version", this.#apiVersion);
    url.searchParams.set("resource", request.resource);
    if (request.selector !== undefined) url.searchParams.set(request.selector.by, request.selector.value);
    return url;
  }

  /** Asks IMDS for a token of the identity `request` selects (the system-assigned one without a selector). */
  async token(request: ManagedIdentityRequest, signal?: CancellationSignal): Promise<Result<ImdsTokenBody, TokenSourceError>> {
    const url = this.tokenUrl(request);
    const linked = linkedSignal(this.#timeoutMs, signal);
    let response: ImdsAnswer;
    try {
      response = await get(url, linked.signal);
    } catch (e) {
      const reason = linked.signal.aborted ? linked.signal.reason : e;
      return err({ kind: "unavailable", message: `IMDS request failed: ${describe(reason)}` });
    } finally {
      linked.dispose();
    }
    return this.#interpret(request, response.status, response.headers, response.text);
  }

  #interpret(request: ManagedIdentityRequest, status: number, headers: IncomingHttpHeaders, text: string): Result<ImdsTokenBody, TokenSourceError> {
    if (status === 200) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return err({ kind: "unavailable", message: "IMDS answered 200 with a body that is not JSON" });
      }
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        return err({ kind: "unavailable", message: "IMDS answered 200 without a JSON object" });
      }
      const clientId = request.selector?.by === "client_id" ? request.selector.value : "";
      const body = toImdsTokenBody(raw as Record<string, unknown>, { nowMs: this.#now(), clientId, resource: request.resource });
      return body.ok ? body : err({ kind: "unavailable", message: `IMDS answered 200 with an unusable token: ${body.error.reason}` });
    }
    const { error, description } = errorFields(text);
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(firstHeader(headers["retry-after"]), this.#now()) ?? DEFAULT_IMDS_RETRY_AFTER_MS;
      return err({ kind: "throttled", retryAfterMs, message: `IMDS throttled: ${error} ${description}`.trim() });
    }
    if (status >= 500 || status === 404 || status === 410) {
      return err({ kind: "unavailable", message: `IMDS answered ${status}: ${error} ${description}`.trim() });
    }
    return err({ kind: "rejected", status, error, description });
  }
}

function describe(reason: unknown): string {
  if (reason instanceof Error) {
    const cause = (reason as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${reason.message} (${cause.message})` : reason.message;
  }
  return String(reason);
}

/** IMDS's answer: status, headers and the body as text. */
interface ImdsAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/**
 * One GET with Node's HTTP client. Why not `fetch`: global `fetch` loads Node's bundled undici (its source and a
 * WebAssembly HTTP parser), about 9 MB of resident memory in NMI, for one request per token lifetime
 * (docs/adr/0017-nmi-as-shipped-footprint.md). Redirects are not followed (IMDS never redirects).
 */
function get(url: URL, signal: AbortSignal): Promise<ImdsAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(url, { method: "GET", headers: { Metadata: "true", Accept: "application/json" }, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
