import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { computeTargetId, type ClockPort, type ComputeTarget, type TokenSourceError, type TokenSourceRequest } from "@podid/core";
import type { FakeCompute } from "../fakes/fake-compute.js";
import type { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { fakeGuid } from "../fakes/fake-ids.js";
import { FakeTokenSource } from "../fakes/fake-token-source.js";
import { closeServer, header, listen, pathSegments, same, sendJson, urlHost } from "./http-kit.js";
import { ImdsThrottle, type ImdsThrottleOptions } from "./imds-throttle.js";
import { systemClock } from "./system-clock.js";

/** The oldest `api-version` of IMDS's identity category: `/metadata/identity` was introduced with it. */
export const IMDS_MIN_IDENTITY_API_VERSION = "2018-02-01";

/** The newest versions IMDS lists in its "api-version" errors (a sample; clients only display them). */
export const IMDS_NEWEST_API_VERSIONS: readonly string[] = ["2023-07-01", "2023-03-01", "2022-11-01"];

/** Options of {@link FakeImdsServer.start}. */
export interface FakeImdsServerOptions {
  /** Where identities are attached (the fake ARM's state). */
  readonly compute: FakeCompute;
  /** The VM or scale set this IMDS belongs to: only identities attached to it get tokens. */
  readonly target: ComputeTarget;
  /** Client/principal ids of user-assigned identities. */
  readonly catalog?: FakeIdentityCatalog;
  /**
   * The token source that checks attachment and mints tokens. Default: a `FakeTokenSource` attached to
   * `compute`/`target` with `catalog` and `clock`. Pass your own to share faults or counters.
   */
  readonly tokens?: FakeTokenSource;
  /** Bind address (default `127.0.0.1`; `169.254.169.254` inside a network namespace). */
  readonly host?: string;
  /** Port (default 0, ephemeral; 80 for the real address). */
  readonly port?: number;
  /** Time for the throttle window, latency and token times (default real time). */
  readonly clock?: ClockPort;
  /** IMDS's per-VM throttle (default 20 requests/s and 5 concurrent), or `false` to disable it. */
  readonly throttle?: (ImdsThrottleOptions & { readonly retryAfterSeconds?: number }) | false;
  /** Latency of each token answer, on `clock` (makes the concurrency limit observable). */
  readonly latencyMs?: number;
  /** Lifetime of minted tokens in seconds (default that of `FakeTokenSource`). */
  readonly tokenLifetimeSeconds?: number;
  /** IMDS learns about a newly attached identity this long after the PATCH (see `FakeTokenSource`). */
  readonly imdsPropagationDelayMs?: number;
  /** Instance metadata: `location` (default `westeurope`), VMSS instance id (default `0`), VM size. */
  readonly location?: string;
  readonly instanceId?: string;
  readonly vmSize?: string;
}

/** A raw answer injected with {@link FakeImdsServer.failNext} (e.g. 404/410 while "IMDS is updating"). */
export interface FakeImdsFault {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One request, as recorded in {@link FakeImdsServer.requestLog}. */
export interface FakeImdsRequestLogEntry {
  readonly seq: number;
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly status: number;
  /** The `error` field of an error answer. */
  readonly error?: string;
  /** `client_id` of the identity a token was issued for. */
  readonly clientId?: string;
  readonly durationMs: number;
}

/** Counters of {@link FakeImdsServer}. */
export interface FakeImdsCounts {
  readonly requests: number;
  /** Requests to the token endpoint (including refused ones and probes). */
  readonly tokenRequests: number;
  /** Tokens issued. */
  readonly issued: number;
  /** Token requests without a query string: `@azure/identity`'s availability probe. */
  readonly probes: number;
  /** Requests refused by the throttle with 429. */
  readonly throttled: number;
  readonly instanceRequests: number;
  readonly byStatus: Readonly<Record<string, number>>;
  /** The most token requests in flight at once. */
  readonly peakConcurrentTokenRequests: number;
}

type Selector = NonNullable<Extract<TokenSourceRequest, { kind: "managedIdentity" }>["selector"]>;

function imdsError(error: string, description: string): { error: string; error_description: string } {
  return { error, error_description: description };
}

function isSupportedApiVersion(version: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= IMDS_MIN_IDENTITY_API_VERSION;
}

/**
 * A loopback Azure Instance Metadata Service for one VM or scale set, over plain HTTP as IMDS is. The
 * token endpoint `/metadata/identity/oauth2/token` follows IMDS: `X-Forwarded-For` refused, `Metadata:
 * true` required (400 `bad_request_102`), `api-version` required (400 with `newest-versions`), at most one
 * of `client_id` / `object_id` / `msi_res_id`, the system-assigned identity when none is named, tokens only
 * for identities attached to this target in the `FakeCompute` state (400 `invalid_request` "Identity not
 * found" otherwise), and the per-VM throttle of 20 requests/s and 5 concurrent (429). Answers use IMDS's
 * all-string shape including `expires_on` and `client_id`; tokens are fake JWTs naming the identity
 * (`aud`, `appid`, `oid`, `tid`, `xms_mirid`). Attachment checks and minting are delegated to a
 * `FakeTokenSource`. `/metadata/instance` describes the VM.
 *
 * `@azure/identity`'s `ManagedIdentityCredential` uses it when `AZURE_POD_IDENTITY_AUTHORITY_HOST` is set
 * to {@link url}; its probe (no query, no header) gets the quick 400 any IMDS gives.
 */
export class FakeImdsServer {
  readonly #server: Server;
  readonly #options: FakeImdsServerOptions;
  readonly #host: string;
  readonly #tokens: FakeTokenSource;
  readonly #clock: ClockPort;
  readonly #throttle: ImdsThrottle | undefined;
  readonly #faults: { fault: FakeImdsFault; remaining: number }[] = [];
  readonly #log: FakeImdsRequestLogEntry[] = [];
  #port = 0;
  #counts = { tokenRequests: 0, issued: 0, probes: 0, throttled: 0, instanceRequests: 0 };
  #byStatus: Record<string, number> = {};
  #inFlight = 0;
  #peakInFlight = 0;

  private constructor(server: Server, options: FakeImdsServerOptions) {
    this.#server = server;
    this.#options = options;
    this.#host = options.host ?? "127.0.0.1";
    this.#clock = options.clock ?? systemClock;
    this.#tokens =
      options.tokens ??
      new FakeTokenSource({
        attachment: { compute: options.compute, target: options.target },
        clock: this.#clock,
        ...(options.catalog !== undefined ? { catalog: options.catalog } : {}),
        ...(options.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
        ...(options.imdsPropagationDelayMs !== undefined ? { imdsPropagationDelayMs: options.imdsPropagationDelayMs } : {}),
      });
    this.#throttle = options.throttle === false ? undefined : new ImdsThrottle(this.#clock, options.throttle ?? {});
  }

  /** Starts the server and resolves once it listens. */
  static async start(options: FakeImdsServerOptions): Promise<FakeImdsServer> {
    let instance: FakeImdsServer | undefined;
    const server = createServer((req, res) => {
      if (instance !== undefined) void instance.#handle(req, res);
    });
    instance = new FakeImdsServer(server, options);
    instance.#port = await listen(server, instance.#host, options.port ?? 0);
    return instance;
  }

  /** The base URL, e.g. `http://127.0.0.1:40123`: the value for `AZURE_POD_IDENTITY_AUTHORITY_HOST`. */
  get url(): string {
    return `http://${urlHost(this.#host, this.#port)}`;
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** The token source behind the endpoint: its faults (`failNext`, `throttleNext`, `injectFault`), calls and counters. */
  get tokens(): FakeTokenSource {
    return this.#tokens;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    await closeServer(this.#server);
  }

  /** Answers the next `count` token requests with a raw `fault` (after the header checks, before the token source). */
  failNext(fault: FakeImdsFault, count = 1): void {
    this.#faults.push({ fault, remaining: count });
  }

  /** Counters since start or the last {@link resetCounters}. */
  counts(): FakeImdsCounts {
    return { requests: this.#log.length, ...this.#counts, byStatus: { ...this.#byStatus }, peakConcurrentTokenRequests: this.#peakInFlight };
  }

  /** Every answered request, in completion order. */
  get requestLog(): readonly FakeImdsRequestLogEntry[] {
    return this.#log;
  }

  /** Clears counters and the log. */
  resetCounters(): void {
    this.#log.length = 0;
    this.#counts = { tokenRequests: 0, issued: 0, probes: 0, throttled: 0, instanceRequests: 0 };
    this.#byStatus = {};
    this.#peakInFlight = this.#inFlight;
  }

  // ── Request handling ──────────────────────────────────────────────────────────────────────────

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const url = new URL(rawUrl, "http://imds.invalid");
    let logged: Omit<FakeImdsRequestLogEntry, "seq" | "method" | "url" | "durationMs"> = { status: 500 };
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const error = (body as { error?: unknown } | undefined)?.error;
      logged = { status, ...(typeof error === "string" ? { error } : {}) };
      sendJson(res, status, body, headers);
    };
    try {
      const segments = pathSegments(url.pathname) ?? [];
      if (!same(segments[0], "metadata")) {
        send(404, imdsError("not_found", "The requested path was not found."));
        return;
      }
      if (segments.length === 4 && same(segments[1], "identity") && same(segments[2], "oauth2") && same(segments[3], "token")) {
        this.#counts.tokenRequests++;
        if (url.search === "") this.#counts.probes++;
        const admission = this.#throttle?.tryEnter() ?? { admitted: true as const, release: () => undefined };
        if (!admission.admitted) {
          this.#counts.throttled++;
          const retry = this.#options.throttle === false ? undefined : this.#options.throttle?.retryAfterSeconds;
          send(429, imdsError("too_many_requests", `Too many requests: IMDS allows ${admission.reason === "rate" ? "20 requests per second" : "5 concurrent requests"} per VM for managed identities.`), retry !== undefined ? { "retry-after": String(retry) } : {});
          return;
        }
        this.#inFlight++;
        this.#peakInFlight = Math.max(this.#peakInFlight, this.#inFlight);
        try {
          const answer = await this.#token(req, method, url);
          send(answer.status, answer.body, answer.headers);
          if (answer.status === 200) {
            const clientId = (answer.body as { client_id?: string }).client_id;
            logged = { ...logged, ...(clientId !== undefined ? { clientId } : {}) };
          }
        } finally {
          this.#inFlight--;
          admission.release();
        }
        return;
      }
      if (same(segments[1], "instance")) {
        this.#counts.instanceRequests++;
        const answer = this.#instance(req, method, url, segments.slice(2));
        if (typeof answer.body === "string") {
          logged = { status: answer.status };
          if (!res.writableEnded) res.writeHead(answer.status, { "content-type": "text/plain; charset=utf-8" }).end(answer.body);
        } else {
          send(answer.status, answer.body);
        }
        return;
      }
      send(404, imdsError("not_found", "The requested path was not found."));
    } catch (error) {
      send(500, imdsError("unknown", `fake IMDS failure: ${error instanceof Error ? error.message : String(error)}`));
    } finally {
      this.#byStatus[String(logged.status)] = (this.#byStatus[String(logged.status)] ?? 0) + 1;
      this.#log.push({ seq: this.#log.length + 1, method, url: rawUrl, ...logged, durationMs: Date.now() - started });
    }
  }

  /** The checks every IMDS endpoint makes before anything else; `undefined` when the request passes them. */
  #commonChecks(req: IncomingMessage, url: URL): { status: number; body: unknown } | undefined {
    if (header(req, "x-forwarded-for") !== undefined) {
      return { status: 400, body: imdsError("bad_request", "Requests with an X-Forwarded-For header are not allowed.") };
    }
    if (header(req, "metadata") !== "true") {
      return { status: 400, body: imdsError("bad_request_102", "Required metadata header not specified") };
    }
    const version = url.searchParams.get("api-version");
    if (version === null || version === "") {
      return {
        status: 400,
        body: { error: "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds", "newest-versions": IMDS_NEWEST_API_VERSIONS },
      };
    }
    if (!isSupportedApiVersion(version)) {
      return {
        status: 400,
        body: { error: "Bad request. api-version is invalid. For more information refer to aka.ms/azureimds", "newest-versions": IMDS_NEWEST_API_VERSIONS },
      };
    }
    return undefined;
  }

  async #token(req: IncomingMessage, method: string, url: URL): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    if (method !== "GET") return { status: 405, body: imdsError("method_not_allowed", `The method ${method} is not allowed.`) };
    const refused = this.#commonChecks(req, url);
    if (refused !== undefined) return refused;
    const named = (["client_id", "object_id", "msi_res_id"] as const)
      .map((by) => ({ by, value: url.searchParams.get(by) ?? "" }))
      .filter((s) => s.value !== "");
    if (named.length > 1) {
      return {
        status: 400,
        body: imdsError("invalid_request", `Only one of client_id, object_id or msi_res_id may be specified; got ${named.map((s) => s.by).join(", ")}.`),
      };
    }
    const latency = this.#options.latencyMs ?? 0;
    if (latency > 0) await this.#clock.sleep(latency);
    const queued = this.#faults.find((f) => f.remaining > 0);
    if (queued !== undefined) {
      queued.remaining--;
      return { status: queued.fault.status, body: queued.fault.body, ...(queued.fault.headers !== undefined ? { headers: { ...queued.fault.headers } } : {}) };
    }
    const selector: Selector | undefined = named[0];
    const result = await this.#tokens.acquire({
      kind: "managedIdentity",
      resource: url.searchParams.get("resource") ?? "",
      ...(selector !== undefined ? { selector } : {}),
    });
    if (result.ok) {
      this.#counts.issued++;
      return { status: 200, body: result.value };
    }
    return tokenErrorAnswer(result.error);
  }

  #instance(req: IncomingMessage, method: string, url: URL, rest: readonly string[]): { status: number; body: unknown } {
    if (method !== "GET") return { status: 405, body: imdsError("method_not_allowed", `The method ${method} is not allowed.`) };
    const refused = this.#commonChecks(req, url);
    if (refused !== undefined) return refused;
    const document = this.#instanceDocument();
    let node: unknown = document;
    for (const segment of rest) {
      if (typeof node !== "object" || node === null) return { status: 404, body: imdsError("not_found", "The requested path was not found.") };
      const key = Object.keys(node).find((k) => same(k, segment));
      if (key === undefined) return { status: 404, body: imdsError("not_found", "The requested path was not found.") };
      node = (node as Record<string, unknown>)[key];
    }
    if (url.searchParams.get("format") === "text") {
      if (typeof node !== "string") return { status: 400, body: imdsError("bad_request", "format=text is only supported for leaf values.") };
      return { status: 200, body: node };
    }
    return { status: 200, body: node };
  }

  #instanceDocument(): { compute: Record<string, unknown>; network: unknown } {
    const target = this.#options.target;
    const id = computeTargetId(target);
    const instanceId = this.#options.instanceId ?? "0";
    const isVmss = target.kind === "vmss";
    return {
      compute: {
        azEnvironment: "AzurePublicCloud",
        location: this.#options.location ?? "westeurope",
        name: isVmss ? `${target.name}_${instanceId}` : target.name,
        offer: "",
        osType: "Linux",
        placementGroupId: "",
        platformFaultDomain: "0",
        platformUpdateDomain: "0",
        provider: "Microsoft.Compute",
        publisher: "",
        resourceGroupName: target.resourceGroup,
        resourceId: isVmss ? `${id}/virtualMachines/${instanceId}` : id,
        sku: "",
        subscriptionId: target.subscriptionId,
        tags: "",
        tagsList: [],
        userData: "",
        version: "",
        vmId: fakeGuid(`vmId/${id.toLowerCase()}/${isVmss ? instanceId : ""}`),
        vmScaleSetName: isVmss ? target.name : "",
        vmSize: this.#options.vmSize ?? "Standard_DS2_v2",
        zone: "",
      },
      network: {
        interface: [
          {
            ipv4: { ipAddress: [{ privateIpAddress: "10.240.0.4", publicIpAddress: "" }], subnet: [{ address: "10.240.0.0", prefix: "16" }] },
            ipv6: { ipAddress: [] },
            macAddress: "000D3A000000",
          },
        ],
      },
    };
  }
}

/** How IMDS answers a refused token request. */
function tokenErrorAnswer(error: TokenSourceError): { status: number; body: unknown; headers?: Record<string, string> } {
  switch (error.kind) {
    case "rejected":
      return { status: error.status, body: imdsError(error.error, error.description) };
    case "throttled":
      return { status: 429, body: imdsError("too_many_requests", error.message), headers: { "retry-after": String(Math.ceil(error.retryAfterMs / 1000)) } };
    case "unavailable":
      return { status: 500, body: imdsError("unknown", `Failed to retrieve token from the Active directory. ${error.message}`) };
  }
}
