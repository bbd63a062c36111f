import { randomUUID } from "node:crypto";
import type { Server } from "node:https";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import {
  computeTargetId,
  err,
  ok,
  formatUserAssignedIdentityId,
  identityKey,
  parseUserAssignedIdentityId,
  type CatalogIdentity,
  type ComputeError,
  type ComputeIdentityState,
  type ComputeTarget,
  type IdentityPatch,
  type ResourceIdentityType,
  type Result,
} from "@podid/core";
import { MalformedPatchError, type FakeCompute } from "../fakes/fake-compute.js";
import { FAKE_TENANT_ID, fakeIdentityRecord, type FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { fakeGuid } from "../fakes/fake-ids.js";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import type { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { serveFederatedCredentials } from "./arm-federated-credentials.js";
import { armErrorBody, catalogErrorToWire, computeErrorToWire, type ArmWireError } from "./arm-wire-errors.js";
import { closeServer, createTlsServer, header, listen, nextMacrotask, pathSegments, readBody, realDelay, same, sendJson, urlHost } from "./http-kit.js";

/** Every operation the fake ARM serves, as counted and as named by faults and latencies. */
export const FAKE_ARM_OPERATIONS = [
  "vmGet",
  "vmPatch",
  "vmssGet",
  "vmssPatch",
  "operationStatus",
  "identityGet",
  "identityListBySubscription",
  "identityListByResourceGroup",
  "ficGet",
  "ficPut",
  "ficDelete",
  "ficList",
  "unknown",
] as const;

/** One of {@link FAKE_ARM_OPERATIONS}. */
export type FakeArmOperation = (typeof FAKE_ARM_OPERATIONS)[number];

/** Audiences real ARM accepts in bearer tokens (with and without the trailing slash). */
export const ARM_AUDIENCES: readonly string[] = [
  "https://management.azure.com",
  "https://management.azure.com/",
  "https://management.core.windows.net",
  "https://management.core.windows.net/",
];

/** How PATCHes complete. */
export interface FakeArmLroOptions {
  /**
   * `asyncOperation` (default): the PATCH answers {@link initialStatus} with an absolute
   * `Azure-AsyncOperation` URL on this server; polls answer `InProgress` until the operation finished and
   * at least {@link minPolls} polls were made, then `Succeeded` or `Failed` with ARM's error; the client
   * then GETs the resource. `synchronous`: the PATCH waits for the operation and answers 200 with the VM.
   */
  readonly mode?: "asyncOperation" | "synchronous";
  /** Status of an accepted PATCH in `asyncOperation` mode (default 202; no body either way). */
  readonly initialStatus?: 201 | 202;
  /** Polls answered `InProgress` before a finished operation is reported (default 1). */
  readonly minPolls?: number;
  /** `Retry-After` seconds on the initial answer and on `InProgress` polls (default none: the client's interval applies). */
  readonly retryAfterSeconds?: number;
}

/** Bearer-token checks. */
export interface FakeArmAuthOptions {
  /**
   * When set, tokens must be fake JWTs (`encodeFakeJwt`, as minted by the fake IMDS/AAD) whose `aud` is one
   * of these and that have not expired (ARM's 401 `InvalidAuthenticationTokenAudience` /
   * `ExpiredAuthenticationToken`). Default: any non-empty bearer token is accepted.
   */
  readonly audiences?: readonly string[];
}

/** Options of {@link FakeArmServer.start}. */
export interface FakeArmServerOptions {
  /** The CA that signs the server certificate (default `TestCertificateAuthority.fromEnvironment()`, the run CA). */
  readonly ca?: TestCertificateAuthority;
  /** VM and scale-set state and every PATCH rule, fault and latency of `Microsoft.Compute`. */
  readonly compute: FakeCompute;
  /** The user-assigned identities of `Microsoft.ManagedIdentity`. */
  readonly catalog: FakeIdentityCatalog;
  /** Bind address (default `127.0.0.1`). */
  readonly host?: string;
  /** Port (default 0, ephemeral). */
  readonly port?: number;
  /** `location` of every resource and of operation URLs (default `westeurope`). */
  readonly location?: string;
  /** Tenant reported for system-assigned identities (default `FAKE_TENANT_ID`). */
  readonly tenantId?: string;
  readonly lro?: FakeArmLroOptions;
  readonly auth?: FakeArmAuthOptions;
  /** Real milliseconds added before answering each operation (network and front-door time). */
  readonly latencyMs?: Partial<Readonly<Record<FakeArmOperation, number>>>;
  /**
   * Identities, and federated identity credentials when the client sends no `$top`, per page of a list
   * (default 100; the next page is reached through `nextLink`).
   */
  readonly pageSize?: number;
}

/** What a fault hook sees of a request. */
export interface FakeArmRequestInfo {
  readonly method: string;
  /** The URL path as sent. */
  readonly path: string;
  readonly operation: FakeArmOperation;
  /** The VM or scale set addressed, for compute operations. */
  readonly target?: ComputeTarget;
  /** The identity id addressed, for `identityGet` and the federated-credential operations (`fic*`). */
  readonly identityId?: string;
  /** The federated identity credential addressed, for `ficGet`, `ficPut` and `ficDelete`. */
  readonly federatedCredentialName?: string;
  readonly headers: IncomingHttpHeaders;
}

/** An error a fault hook makes the server answer with (ARM's body is built from `code` and `message`). */
export type FakeArmFault = ArmWireError;

/** One request, as recorded in {@link FakeArmServer.requestLog}. */
export interface FakeArmRequestLogEntry {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly operation: FakeArmOperation;
  readonly status: number;
  /** ARM `error.code` of an error answer. */
  readonly code?: string;
  /** `x-ms-client-request-id` as sent. */
  readonly clientRequestId?: string;
  /** The `api-version` query parameter as sent. */
  readonly apiVersion?: string;
  readonly startedAtMs: number;
  readonly durationMs: number;
}

/** Counters of {@link FakeArmServer}. */
export interface FakeArmCounts {
  readonly requests: number;
  readonly byOperation: Readonly<Record<FakeArmOperation, number>>;
  /** Answers by HTTP status (`"200"`, `"429"`, …). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Requests refused with 401. */
  readonly unauthorized: number;
  /** Long-running operations: started (accepted PATCHes), reported `Succeeded` / `Failed`, not yet reported. */
  readonly operations: { readonly started: number; readonly succeeded: number; readonly failed: number; readonly pending: number };
  /** The most requests in flight at once. */
  readonly peakConcurrentRequests: number;
}

type Settled = { readonly result: Result<ComputeIdentityState, ComputeError> } | { readonly thrown: unknown };

interface Operation {
  readonly id: string;
  readonly target: ComputeTarget;
  readonly startTime: string;
  polls: number;
  settled: Settled | undefined;
  /** Set when a failure was injected with `failNextOperation`. */
  readonly injected?: { readonly code: string; readonly message: string };
  endTime?: string;
  reported: boolean;
}

interface Route {
  readonly operation: FakeArmOperation;
  readonly methods: readonly string[];
  readonly target?: ComputeTarget;
  readonly identityId?: string;
  readonly ficName?: string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly operationId?: string;
}

const IDENTITY_TYPES: readonly ResourceIdentityType[] = ["None", "SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned"];

function zeroCounts(): Record<FakeArmOperation, number> {
  return Object.fromEntries(FAKE_ARM_OPERATIONS.map((op) => [op, 0])) as Record<FakeArmOperation, number>;
}

/** Reads ARM's identity `type`, accepting any case and spacing around the comma as ARM does. */
function parseIdentityType(value: unknown): ResourceIdentityType | undefined {
  if (typeof value !== "string") return undefined;
  const normal = value.split(",").map((part) => part.trim().toLowerCase()).join(",");
  return IDENTITY_TYPES.find((t) => t.toLowerCase().replace(/, /g, ",") === normal);
}

/**
 * A loopback Azure Resource Manager over HTTPS that the real `@azure/arm-compute` and `@azure/arm-msi`
 * accept unmodified (point `endpoint` at {@link url}; trust comes from the run CA). It serves
 * `Microsoft.Compute` virtualMachines / virtualMachineScaleSets GET and PATCH,
 * `Microsoft.ManagedIdentity` userAssignedIdentities GET and list, and their federatedIdentityCredentials
 * PUT, GET, DELETE and list, and delegates every semantic to the in-memory fakes: `FakeCompute` owns the
 * identity merge, `type` rules, the 150 limit, etags, `provisioningState`, throttling, conflicts,
 * forbidden/deleted identities and operation latency; `FakeIdentityCatalog` owns the identities and
 * (`catalog.federatedCredentials`) their federated credentials with Entra ID's rules. This class adds only what is HTTP: routing, bearer-token and
 * `api-version` checks, ARM's `{error:{code,message}}` bodies with the right statuses and `Retry-After`,
 * long-running operations through `Azure-AsyncOperation`, paging, per-operation latency, faults on the
 * wire and counters of every call for benchmarks.
 *
 * A PATCH counts as accepted when `FakeCompute` has not answered by the next macrotask (its operation is
 * running on its clock); errors it returns before that (409, 412, 403, 400, 404, 429) are answered on the
 * PATCH itself, as ARM does, and an accepted PATCH becomes an operation whose final state is whatever
 * `FakeCompute` returns when its latency has passed.
 */
export class FakeArmServer {
  readonly #server: Server;
  readonly #options: FakeArmServerOptions;
  readonly #host: string;
  #port = 0;
  readonly #operations = new Map<string, Operation>();
  readonly #faults = new Set<(request: FakeArmRequestInfo) => FakeArmFault | undefined>();
  readonly #queuedFaults: { operation: FakeArmOperation | "any"; fault: FakeArmFault; remaining: number }[] = [];
  readonly #operationFailures: { targetKey: string | undefined; code: string; message: string; remaining: number }[] = [];
  readonly #latency: Partial<Record<FakeArmOperation, number>>;
  readonly #log: FakeArmRequestLogEntry[] = [];
  readonly #malformed: string[] = [];
  #byOperation = zeroCounts();
  #byStatus: Record<string, number> = {};
  #unauthorized = 0;
  #inFlight = 0;
  #peakInFlight = 0;
  #opsStarted = 0;
  #opsSucceeded = 0;
  #opsFailed = 0;

  private constructor(server: Server, options: FakeArmServerOptions) {
    this.#server = server;
    this.#options = options;
    this.#host = options.host ?? "127.0.0.1";
    this.#latency = { ...options.latencyMs };
  }

  /** Starts the server (HTTPS, certificate signed by `options.ca` or the run CA) and resolves once it listens. */
  static async start(options: FakeArmServerOptions): Promise<FakeArmServer> {
    const host = options.host ?? "127.0.0.1";
    let instance: FakeArmServer | undefined;
    const server = await createTlsServer(host, options.ca, (req, res) => {
      if (instance !== undefined) void instance.#handle(req, res);
    });
    instance = new FakeArmServer(server, options);
    instance.#port = await listen(server, host, options.port ?? 0);
    return instance;
  }

  /** The base URL, e.g. `https://127.0.0.1:40123`: the SDK clients' `endpoint`. */
  get url(): string {
    return `https://${urlHost(this.#host, this.#port)}`;
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    await closeServer(this.#server);
  }

  // ── Faults and set-up ─────────────────────────────────────────────────────────────────────────

  /** Adds a hook consulted on every authenticated request; a returned fault is answered instead. Returns its remover. */
  injectFault(fault: (request: FakeArmRequestInfo) => FakeArmFault | undefined): () => void {
    this.#faults.add(fault);
    return () => {
      this.#faults.delete(fault);
    };
  }

  /** Answers the next `count` requests of `operation` (or of any operation) with `fault`. */
  failNext(operation: FakeArmOperation | "any", fault: FakeArmFault, count = 1): void {
    this.#queuedFaults.push({ operation, fault, remaining: count });
  }

  /**
   * Makes the next `count` PATCHes of `target` (or of any target) be accepted and then end `Failed` with
   * `error` when polled, applying nothing (ARM's failed long-running operation). In `synchronous` mode the
   * PATCH itself answers 500 with that error.
   */
  failNextOperation(target: ComputeTarget | "all", error: { readonly code: string; readonly message: string }, count = 1): void {
    this.#operationFailures.push({
      targetKey: target === "all" ? undefined : computeTargetId(target).toLowerCase(),
      code: error.code,
      message: error.message,
      remaining: count,
    });
  }

  /** Sets (or with `undefined` clears) the real-time latency of one operation. */
  setLatency(operation: FakeArmOperation, ms: number | undefined): void {
    if (ms === undefined) delete this.#latency[operation];
    else this.#latency[operation] = ms;
  }

  /**
   * Deletes a user-assigned identity in Azure: the catalog forgets it (GET → 404) and `FakeCompute`
   * refuses to attach it (400 `FailedIdentityOperation`).
   */
  deleteIdentity(id: string): void {
    this.#options.catalog.unregister(id);
    this.#options.compute.deleteIdentities([id]);
  }

  // ── Inspection ────────────────────────────────────────────────────────────────────────────────

  /** Counters since start or the last {@link resetCounters}. */
  counts(): FakeArmCounts {
    return {
      requests: this.#log.length,
      byOperation: { ...this.#byOperation },
      byStatus: { ...this.#byStatus },
      unauthorized: this.#unauthorized,
      operations: {
        started: this.#opsStarted,
        succeeded: this.#opsSucceeded,
        failed: this.#opsFailed,
        pending: [...this.#operations.values()].filter((op) => !op.reported).length,
      },
      peakConcurrentRequests: this.#peakInFlight,
    };
  }

  /** Every answered request, in completion order. */
  get requestLog(): readonly FakeArmRequestLogEntry[] {
    return this.#log;
  }

  /**
   * Messages of PATCHes that `FakeCompute` rejected as malformed (answered 400 `InvalidParameter`). A
   * correct client never sends one, so tests can assert this stays empty.
   */
  get malformedPatches(): readonly string[] {
    return this.#malformed;
  }

  /** Clears counters, the request log and the malformed list (state, faults and operations stay). */
  resetCounters(): void {
    this.#log.length = 0;
    this.#malformed.length = 0;
    this.#byOperation = zeroCounts();
    this.#byStatus = {};
    this.#unauthorized = 0;
    this.#peakInFlight = this.#inFlight;
    this.#opsStarted = 0;
    this.#opsSucceeded = 0;
    this.#opsFailed = 0;
  }

  // ── Request handling ──────────────────────────────────────────────────────────────────────────

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAtMs = Date.now();
    this.#inFlight++;
    this.#peakInFlight = Math.max(this.#peakInFlight, this.#inFlight);
    const url = new URL(req.url ?? "/", this.url);
    const method = (req.method ?? "GET").toUpperCase();
    const route = withMethod(this.#route(url.pathname), method);
    const requestId = randomUUID();
    const clientRequestId = header(req, "x-ms-client-request-id");
    let answered: { status: number; code?: string } = { status: 500 };
    const respond = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
      answered = { status, ...(code !== undefined ? { code } : {}) };
      sendJson(res, status, body, {
        "x-ms-request-id": requestId,
        "x-ms-correlation-request-id": requestId,
        ...(clientRequestId !== undefined ? { "x-ms-client-request-id": clientRequestId } : {}),
        ...headers,
      });
    };
    const fail = (error: ArmWireError): void => respond(error.status, armErrorBody(error), { ...error.headers });
    try {
      const auth = this.#checkAuth(header(req, "authorization"));
      if (auth !== undefined) {
        this.#unauthorized++;
        fail(auth);
        return;
      }
      const apiVersion = url.searchParams.get("api-version");
      if (apiVersion === null || apiVersion === "") {
        fail({
          status: 400,
          code: "MissingApiVersionParameter",
          message: "The api-version query parameter (?api-version=) is required for all requests.",
        });
        return;
      }
      if (route.operation === "unknown") {
        fail({ status: 404, code: "InvalidResourceType", message: `The fake ARM serves no resource at '${url.pathname}'.` });
        return;
      }
      if (!route.methods.includes(method)) {
        fail({ status: 405, code: "MethodNotAllowed", message: `The fake ARM does not support ${method} on '${url.pathname}'.` });
        return;
      }
      await realDelay(this.#latency[route.operation] ?? 0);
      const info: FakeArmRequestInfo = {
        method,
        path: url.pathname,
        operation: route.operation,
        headers: req.headers,
        ...(route.target !== undefined ? { target: route.target } : {}),
        ...(route.identityId !== undefined ? { identityId: route.identityId } : {}),
        ...(route.ficName !== undefined ? { federatedCredentialName: route.ficName } : {}),
      };
      const fault = this.#takeFault(info);
      if (fault !== undefined) {
        fail(fault);
        return;
      }
      switch (route.operation) {
        case "vmGet":
        case "vmssGet":
          await this.#getCompute(route.target as ComputeTarget, respond, fail);
          return;
        case "vmPatch":
        case "vmssPatch":
          await this.#patchCompute(req, route.target as ComputeTarget, apiVersion, respond, fail);
          return;
        case "operationStatus":
          this.#operationStatus(route.operationId ?? "", respond, fail);
          return;
        case "identityGet":
          await this.#getIdentity(route.identityId ?? "", respond, fail);
          return;
        case "identityListBySubscription":
        case "identityListByResourceGroup":
          this.#listIdentities(url, route, apiVersion, respond);
          return;
        case "ficGet":
        case "ficPut":
        case "ficDelete":
        case "ficList":
          await serveFederatedCredentials(this.#options.catalog.federatedCredentials, {
            operation: route.operation,
            identityId: route.identityId ?? "",
            ...(route.ficName !== undefined ? { name: route.ficName } : {}),
            req,
            url,
            apiVersion,
            baseUrl: this.url,
            pageSize: this.#options.pageSize ?? 100,
            respond,
            fail,
          });
          return;
      }
    } catch (error) {
      fail({ status: 500, code: "InternalServerError", message: `fake ARM failure: ${error instanceof Error ? error.message : String(error)}` });
    } finally {
      this.#inFlight--;
      this.#byOperation[route.operation]++;
      this.#byStatus[String(answered.status)] = (this.#byStatus[String(answered.status)] ?? 0) + 1;
      this.#log.push({
        seq: this.#log.length + 1,
        method,
        path: url.pathname,
        operation: route.operation,
        status: answered.status,
        ...(answered.code !== undefined ? { code: answered.code } : {}),
        ...(clientRequestId !== undefined ? { clientRequestId } : {}),
        ...(url.searchParams.get("api-version") !== null ? { apiVersion: url.searchParams.get("api-version") ?? "" } : {}),
        startedAtMs,
        durationMs: Date.now() - startedAtMs,
      });
    }
  }

  #route(pathname: string): Route {
    const unknown: Route = { operation: "unknown", methods: [] };
    const s = pathSegments(pathname);
    if (s === undefined || !same(s[0], "subscriptions") || s[1] === undefined) return unknown;
    const subscriptionId = s[1];
    // /subscriptions/{s}/providers/…
    if (same(s[2], "providers")) {
      if (s.length === 5 && same(s[3], "Microsoft.ManagedIdentity") && same(s[4], "userAssignedIdentities")) {
        return { operation: "identityListBySubscription", methods: ["GET"], subscriptionId };
      }
      if (s.length === 8 && same(s[3], "Microsoft.Compute") && same(s[4], "locations") && same(s[6], "operations")) {
        return { operation: "operationStatus", methods: ["GET"], operationId: s[7] ?? "" };
      }
      return unknown;
    }
    // /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}[/{name}]
    if (!same(s[2], "resourceGroups") || s[3] === undefined || !same(s[4], "providers")) return unknown;
    const resourceGroup = s[3];
    const [namespace, type, name] = [s[5], s[6], s[7]];
    if (same(namespace, "Microsoft.Compute") && s.length === 8 && name !== undefined) {
      if (same(type, "virtualMachines")) {
        const target: ComputeTarget = { kind: "vm", subscriptionId, resourceGroup, name };
        return { operation: "vmGet", methods: ["GET", "PATCH"], target };
      }
      if (same(type, "virtualMachineScaleSets")) {
        const target: ComputeTarget = { kind: "vmss", subscriptionId, resourceGroup, name };
        return { operation: "vmssGet", methods: ["GET", "PATCH"], target };
      }
      return unknown;
    }
    if (same(namespace, "Microsoft.ManagedIdentity") && same(type, "userAssignedIdentities")) {
      if (s.length === 7) return { operation: "identityListByResourceGroup", methods: ["GET"], subscriptionId, resourceGroup };
      if (s.length === 8 && name !== undefined) {
        return { operation: "identityGet", methods: ["GET"], identityId: formatUserAssignedIdentityId({ subscriptionId, resourceGroup, name }) };
      }
      // …/userAssignedIdentities/{name}/federatedIdentityCredentials[/{fic}]
      if (name !== undefined && same(s[8], "federatedIdentityCredentials")) {
        const identityId = formatUserAssignedIdentityId({ subscriptionId, resourceGroup, name });
        if (s.length === 9) return { operation: "ficList", methods: ["GET"], identityId };
        if (s.length === 10 && s[9] !== undefined) return { operation: "ficGet", methods: ["GET", "PUT", "DELETE"], identityId, ficName: s[9] };
      }
    }
    return unknown;
  }

  #checkAuth(authorization: string | undefined): ArmWireError | undefined {
    const challenge = (description: string): Record<string, string> => ({
      "www-authenticate": `Bearer authorization_uri="https://login.microsoftonline.com/${FAKE_TENANT_ID}", error="invalid_token", error_description="${description}"`,
    });
    if (authorization === undefined || authorization === "") {
      const message = "Authentication failed. The 'Authorization' header is missing.";
      return { status: 401, code: "AuthenticationFailed", message, headers: challenge(message) };
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (match === null) {
      const message = "Authentication failed. The 'Authorization' header is provided in an invalid format.";
      return { status: 401, code: "AuthenticationFailedInvalidHeader", message, headers: challenge(message) };
    }
    const audiences = this.#options.auth?.audiences;
    if (audiences === undefined) return undefined;
    let claims: { aud?: unknown; exp?: unknown };
    try {
      claims = decodeFakeJwt(match[1] ?? "");
    } catch {
      const message = "The access token is invalid.";
      return { status: 401, code: "InvalidAuthenticationToken", message, headers: challenge(message) };
    }
    if (typeof claims.aud !== "string" || !audiences.includes(claims.aud)) {
      const message =
        `The access token has been obtained for wrong audience or resource '${String(claims.aud)}'. ` +
        `It should exactly match with one of the allowed audiences '${audiences.join("','")}'.`;
      return { status: 401, code: "InvalidAuthenticationTokenAudience", message, headers: challenge(message) };
    }
    if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
      const message = "The access token expiry UTC time is earlier than current UTC time.";
      return { status: 401, code: "ExpiredAuthenticationToken", message, headers: challenge(message) };
    }
    return undefined;
  }

  #takeFault(info: FakeArmRequestInfo): FakeArmFault | undefined {
    for (const hook of this.#faults) {
      const fault = hook(info);
      if (fault !== undefined) return fault;
    }
    const queued = this.#queuedFaults.find((q) => q.remaining > 0 && (q.operation === "any" || q.operation === info.operation));
    if (queued === undefined) return undefined;
    queued.remaining--;
    return queued.fault;
  }

  async #getCompute(target: ComputeTarget, respond: Responder, fail: (e: ArmWireError) => void): Promise<void> {
    const result = await this.#options.compute.getIdentities(target);
    if (!result.ok) {
      fail(computeErrorToWire(result.error));
      return;
    }
    const body = this.#computeBody(target, result.value);
    respond(200, body, result.value.etag !== undefined ? { etag: result.value.etag } : {});
  }

  async #patchCompute(
    req: IncomingMessage,
    target: ComputeTarget,
    apiVersion: string,
    respond: Responder,
    fail: (e: ArmWireError) => void,
  ): Promise<void> {
    const parsed = parsePatchBody(await readBody(req));
    if (!parsed.ok) {
      fail(parsed.error);
      return;
    }
    const ifMatch = header(req, "if-match");
    const lro = this.#options.lro ?? {};
    const injected = this.#takeOperationFailure(target);
    let operation: Operation;
    if (injected !== undefined) {
      operation = { id: randomUUID(), target, startTime: new Date().toISOString(), polls: 0, settled: undefined, injected, reported: false };
    } else {
      const op: Operation = { id: randomUUID(), target, startTime: new Date().toISOString(), polls: 0, settled: undefined, reported: false };
      const running = this.#options.compute.patchIdentities(target, parsed.value, ifMatch).then(
        (result) => {
          op.settled = { result };
          op.endTime = new Date().toISOString();
        },
        (thrown: unknown) => {
          op.settled = { thrown };
          op.endTime = new Date().toISOString();
        },
      );
      // Every check FakeCompute makes before its operation starts runs in microtasks: by the next
      // macrotask it has either answered (an error ARM gives on the PATCH itself) or accepted the PATCH.
      await nextMacrotask();
      if (op.settled !== undefined && !("result" in op.settled && op.settled.result.ok)) {
        fail(this.#settledError(op.settled));
        return;
      }
      if (lro.mode === "synchronous") {
        await running;
        const settled = op.settled as Settled | undefined;
        if (settled !== undefined && "result" in settled && settled.result.ok) {
          respond(200, this.#computeBody(target, settled.result.value), settled.result.value.etag !== undefined ? { etag: settled.result.value.etag } : {});
        } else {
          fail(settled === undefined ? internalError("operation did not settle") : this.#settledError(settled));
        }
        return;
      }
      operation = op;
    }
    if (lro.mode === "synchronous") {
      fail({ status: 500, code: injected?.code ?? "InternalServerError", message: injected?.message ?? "operation failed" });
      return;
    }
    this.#operations.set(operation.id, operation);
    this.#opsStarted++;
    const location = this.#options.location ?? "westeurope";
    const asyncUrl =
      `${this.url}/subscriptions/${encodeURIComponent(target.subscriptionId)}/providers/Microsoft.Compute/locations/${location}` +
      `/operations/${operation.id}?api-version=${encodeURIComponent(apiVersion)}`;
    respond(lro.initialStatus ?? 202, undefined, {
      "azure-asyncoperation": asyncUrl,
      ...(lro.retryAfterSeconds !== undefined ? { "retry-after": String(lro.retryAfterSeconds) } : {}),
    });
  }

  #settledError(settled: Settled): ArmWireError {
    if ("thrown" in settled) {
      if (settled.thrown instanceof MalformedPatchError) {
        this.#malformed.push(settled.thrown.message);
        return { status: 400, code: "InvalidParameter", message: settled.thrown.message };
      }
      return internalError(settled.thrown instanceof Error ? settled.thrown.message : String(settled.thrown));
    }
    return settled.result.ok ? internalError("unexpected success") : computeErrorToWire(settled.result.error);
  }

  #takeOperationFailure(target: ComputeTarget): { code: string; message: string } | undefined {
    const key = computeTargetId(target).toLowerCase();
    const armed = this.#operationFailures.find((f) => f.remaining > 0 && (f.targetKey === undefined || f.targetKey === key));
    if (armed === undefined) return undefined;
    armed.remaining--;
    return { code: armed.code, message: armed.message };
  }

  #operationStatus(id: string, respond: Responder, fail: (e: ArmWireError) => void): void {
    const op = this.#operations.get(id);
    if (op === undefined) {
      fail({ status: 404, code: "ResourceNotFound", message: `The operation '${id}' was not found.` });
      return;
    }
    op.polls++;
    const lro = this.#options.lro ?? {};
    const finished = op.injected !== undefined || op.settled !== undefined;
    if (!finished || op.polls <= (lro.minPolls ?? 1)) {
      respond(200, { startTime: op.startTime, status: "InProgress", name: op.id }, lro.retryAfterSeconds !== undefined ? { "retry-after": String(lro.retryAfterSeconds) } : {});
      return;
    }
    const endTime = op.endTime ?? new Date().toISOString();
    const error =
      op.injected !== undefined
        ? op.injected
        : op.settled !== undefined && !("result" in op.settled && op.settled.result.ok)
          ? this.#settledError(op.settled)
          : undefined;
    if (!op.reported) {
      op.reported = true;
      if (error === undefined) this.#opsSucceeded++;
      else this.#opsFailed++;
    }
    if (error === undefined) {
      respond(200, { startTime: op.startTime, endTime, status: "Succeeded", name: op.id });
    } else {
      respond(200, { startTime: op.startTime, endTime, status: "Failed", name: op.id, error: { code: error.code, message: error.message } });
    }
  }

  async #getIdentity(id: string, respond: Responder, fail: (e: ArmWireError) => void): Promise<void> {
    const result = await this.#options.catalog.getUserAssignedIdentity(id);
    if (!result.ok) {
      fail(catalogErrorToWire(result.error));
      return;
    }
    respond(200, this.#identityBody(result.value));
  }

  #listIdentities(url: URL, route: Route, apiVersion: string, respond: Responder): void {
    const matching = this.#options.catalog
      .list()
      .filter((record) => {
        const parsed = parseUserAssignedIdentityId(record.id);
        if (!parsed.ok || !same(parsed.value.subscriptionId, route.subscriptionId ?? "")) return false;
        return route.resourceGroup === undefined || same(parsed.value.resourceGroup, route.resourceGroup);
      })
      .sort((a, b) => (identityKey(a.id) ?? a.id).localeCompare(identityKey(b.id) ?? b.id));
    const pageSize = Math.max(1, this.#options.pageSize ?? 100);
    const skip = Math.max(0, Number.parseInt(url.searchParams.get("$skipToken") ?? "0", 10) || 0);
    const page = matching.slice(skip, skip + pageSize);
    const next = skip + pageSize < matching.length ? skip + pageSize : undefined;
    const nextLink =
      next === undefined ? undefined : `${this.url}${url.pathname}?api-version=${encodeURIComponent(apiVersion)}&$skipToken=${next}`;
    respond(200, { value: page.map((record) => this.#identityBody(record)), ...(nextLink !== undefined ? { nextLink } : {}) });
  }

  #identityBody(record: CatalogIdentity): unknown {
    const parsed = parseUserAssignedIdentityId(record.id);
    return {
      id: record.id,
      name: parsed.ok ? parsed.value.name : record.id.split("/").pop(),
      type: "Microsoft.ManagedIdentity/userAssignedIdentities",
      location: this.#options.location ?? "westeurope",
      tags: {},
      properties: { tenantId: record.tenantId, principalId: record.principalId, clientId: record.clientId, isolationScope: "None" },
    };
  }

  #computeBody(requested: ComputeTarget, state: ComputeIdentityState): unknown {
    const snapshot = this.#options.compute.identitiesOf(requested);
    const target = snapshot?.target ?? requested;
    const tenantId = this.#options.tenantId ?? FAKE_TENANT_ID;
    const users = Object.fromEntries(
      state.userAssignedIdentityIds.map((id) => {
        const record = this.#options.catalog.lookup(id) ?? fakeIdentityRecordOrUndefined(id);
        return [id, record === undefined ? {} : { principalId: record.principalId, clientId: record.clientId }];
      }),
    );
    const system = snapshot?.systemAssignedPrincipalId;
    const identity =
      state.type === "None"
        ? undefined
        : {
            type: state.type,
            ...(system !== undefined ? { principalId: system, tenantId } : {}),
            ...(state.userAssignedIdentityIds.length > 0 ? { userAssignedIdentities: users } : {}),
          };
    const id = computeTargetId(target);
    const common = {
      id,
      name: target.name,
      type: target.kind === "vm" ? "Microsoft.Compute/virtualMachines" : "Microsoft.Compute/virtualMachineScaleSets",
      location: this.#options.location ?? "westeurope",
      ...(state.etag !== undefined ? { etag: state.etag } : {}),
      ...(identity !== undefined ? { identity } : {}),
    };
    const provisioningState = state.provisioningState ?? "Succeeded";
    if (target.kind === "vm") {
      return { ...common, properties: { provisioningState, vmId: fakeGuid(`vmId/${id.toLowerCase()}`) } };
    }
    return {
      ...common,
      sku: { name: "Standard_DS2_v2", tier: "Standard", capacity: 3 },
      properties: { provisioningState, uniqueId: fakeGuid(`uniqueId/${id.toLowerCase()}`), orchestrationMode: "Uniform" },
    };
  }
}

/** The PATCH flavour of a compute route; the PUT and DELETE flavours of a federated-credential route. */
function withMethod(route: Route, method: string): Route {
  if (route.operation === "ficGet" && method === "PUT") return { ...route, operation: "ficPut" };
  if (route.operation === "ficGet" && method === "DELETE") return { ...route, operation: "ficDelete" };
  if (method !== "PATCH") return route;
  if (route.operation === "vmGet") return { ...route, operation: "vmPatch" };
  if (route.operation === "vmssGet") return { ...route, operation: "vmssPatch" };
  return route;
}

type Responder = (status: number, body: unknown, headers?: Record<string, string>) => void;

function internalError(message: string): ArmWireError {
  return { status: 500, code: "InternalServerError", message };
}

function fakeIdentityRecordOrUndefined(id: string): CatalogIdentity | undefined {
  return identityKey(id) === undefined ? undefined : fakeIdentityRecord(id);
}

/** Reads a PATCH body into an {@link IdentityPatch}, or the 400 ARM would answer. */
function parsePatchBody(text: string): Result<IdentityPatch, ArmWireError> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return err({
      status: 400,
      code: "InvalidRequestContent",
      message: `The request content was invalid and could not be deserialized: '${error instanceof Error ? error.message : String(error)}'.`,
    });
  }
  const invalid = (message: string): Result<IdentityPatch, ArmWireError> => err({ status: 400, code: "InvalidParameter", message });
  if (typeof body !== "object" || body === null || Array.isArray(body)) return invalid("The request body must be a JSON object.");
  const identity = (body as { identity?: unknown }).identity;
  if (identity === undefined || identity === null) {
    return invalid("The fake ARM models PATCHes of 'identity' only, and this request has no 'identity' property.");
  }
  if (typeof identity !== "object" || Array.isArray(identity)) return invalid("The value of parameter 'identity' is invalid.");
  const rawType = (identity as { type?: unknown }).type;
  if (rawType === undefined || rawType === null) return invalid("Required parameter 'identity.type' is missing (null).");
  const type = parseIdentityType(rawType);
  if (type === undefined) {
    return invalid(`The value '${String(rawType)}' of parameter 'identity.type' is invalid. Allowed values: '${IDENTITY_TYPES.join("', '")}'.`);
  }
  const rawMap = (identity as { userAssignedIdentities?: unknown }).userAssignedIdentities;
  if (rawMap === undefined || rawMap === null) return ok({ identity: { type } });
  if (typeof rawMap !== "object" || Array.isArray(rawMap)) return invalid("The value of parameter 'identity.userAssignedIdentities' is invalid.");
  const map: Record<string, Record<string, never> | null> = {};
  for (const [id, value] of Object.entries(rawMap as Record<string, unknown>)) {
    if (value !== null && (typeof value !== "object" || Array.isArray(value))) {
      return invalid(`The value of user-assigned identity '${id}' must be an object or null.`);
    }
    // ARM ignores the read-only principalId/clientId a client may echo back from a GET.
    map[id] = value === null ? null : {};
  }
  return ok({ identity: { type, userAssignedIdentities: map } });
}
