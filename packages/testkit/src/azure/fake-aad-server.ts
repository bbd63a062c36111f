import { randomUUID } from "node:crypto";
import type { Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { err, ok, type ClockPort, type ImdsTokenBody, type Result, type TokenSourceError } from "@podid/core";
import { fakeGuid } from "../fakes/fake-ids.js";
import { FakeTokenSource } from "../fakes/fake-token-source.js";
import type { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { verifyClientAssertion, type ClientAssertionRejection } from "./client-assertion.js";
import { closeServer, createTlsServer, header, listen, pathSegments, readBody, same, sendJson, urlHost } from "./http-kit.js";
import { systemClock } from "./system-clock.js";

/** The `client_assertion_type` of a certificate (private_key_jwt) client credential. */
export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** An application (service principal) registered in one tenant of the fake AAD. */
export interface FakeAadApplication {
  readonly tenantId: string;
  readonly clientId: string;
  /** Object id put into `oid` (default derived from the client id). */
  readonly principalId?: string;
  /** The client secret it accepts. */
  readonly secret?: string;
  /** The certificate (PEM, public part is enough) whose key signs its client assertions. */
  readonly certificatePem?: string;
}

/** Options of {@link FakeAadServer.start}. */
export interface FakeAadServerOptions {
  /** The CA that signs the server certificate (default `TestCertificateAuthority.fromEnvironment()`, the run CA). */
  readonly ca?: TestCertificateAuthority;
  /** Mints tokens and checks registrations and secrets (default a new `FakeTokenSource` on `clock`). */
  readonly tokens?: FakeTokenSource;
  /** Time for token and assertion checks (default real time). */
  readonly clock?: ClockPort;
  /** Tenants that exist even without applications (discovery answers for them). */
  readonly tenants?: readonly string[];
  /** Bind address (default `127.0.0.1`) and port (default 0). */
  readonly host?: string;
  readonly port?: number;
  /** Clock skew tolerated on client assertions' `nbf`/`exp`, seconds (default 300 like AAD). */
  readonly assertionSkewSeconds?: number;
}

/** A raw error injected with {@link FakeAadServer.failNext}. */
export interface FakeAadFault {
  readonly status: number;
  readonly error: string;
  readonly description: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One request, as recorded in {@link FakeAadServer.requestLog}. */
export interface FakeAadRequestLogEntry {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly tenant?: string;
  readonly kind: "discovery" | "token" | "keys" | "unknown";
  /** `client_secret`, `client_assertion`, or `none` for token requests. */
  readonly credential?: "client_secret" | "client_assertion" | "none";
  readonly clientId?: string;
  readonly status: number;
  readonly error?: string;
}

/** Counters of {@link FakeAadServer}. */
export interface FakeAadCounts {
  readonly requests: number;
  readonly discovery: number;
  readonly tokenRequests: number;
  readonly issued: number;
  /** Refused token requests by OAuth error code. */
  readonly errors: Readonly<Record<string, number>>;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/**
 * A loopback Microsoft Entra ID (AAD) over HTTPS that `@azure/identity`'s `ClientSecretCredential` and
 * `ClientCertificateCredential` accept with `authorityHost` = {@link url} and `disableInstanceDiscovery:
 * true`: OIDC discovery (`/{tenant}/v2.0/.well-known/openid-configuration` and the v1 path), and the token
 * endpoints (`/{tenant}/oauth2/v2.0/token` with `scope`, `/{tenant}/oauth2/token` with `resource`) for the
 * client-credentials grant with a client secret (form or HTTP Basic) or a certificate client assertion,
 * whose signature, certificate thumbprint, `iss`/`sub`, `aud` and lifetime are verified. Applications are
 * registered per tenant, so a multi-tenant app (auxiliary tenants) is one registration per tenant. Errors
 * are in AAD's shape (`error`, `error_description` starting with `AADSTSnnn:`, `error_codes`, trace and
 * correlation ids). Registrations, secrets and token minting are delegated to a `FakeTokenSource`, so the
 * tokens are fake JWTs whose `appid`, `oid`, `tid` and `aud` name the application and resource.
 */
export class FakeAadServer {
  readonly #server: Server;
  readonly #options: FakeAadServerOptions;
  readonly #host: string;
  readonly #tokens: FakeTokenSource;
  readonly #clock: ClockPort;
  readonly #tenants = new Set<string>();
  readonly #certificates = new Map<string, string[]>();
  readonly #faults: { fault: FakeAadFault; remaining: number }[] = [];
  readonly #log: FakeAadRequestLogEntry[] = [];
  #port = 0;
  #issued = 0;

  private constructor(server: Server, options: FakeAadServerOptions) {
    this.#server = server;
    this.#options = options;
    this.#host = options.host ?? "127.0.0.1";
    this.#clock = options.clock ?? systemClock;
    this.#tokens = options.tokens ?? new FakeTokenSource({ clock: this.#clock });
    for (const tenant of options.tenants ?? []) this.#tenants.add(tenant.toLowerCase());
  }

  /** Starts the server (HTTPS, certificate signed by `options.ca` or the run CA) and resolves once it listens. */
  static async start(options: FakeAadServerOptions = {}): Promise<FakeAadServer> {
    const host = options.host ?? "127.0.0.1";
    let instance: FakeAadServer | undefined;
    const server = await createTlsServer(host, options.ca, (req, res) => {
      if (instance !== undefined) void instance.#handle(req, res);
    });
    instance = new FakeAadServer(server, options);
    instance.#port = await listen(server, host, options.port ?? 0);
    return instance;
  }

  /** The authority host, e.g. `https://127.0.0.1:40123`: the credentials' `authorityHost`. */
  get url(): string {
    return `https://${urlHost(this.#host, this.#port)}`;
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** The token source behind the endpoint: its faults, calls and counters. */
  get tokens(): FakeTokenSource {
    return this.#tokens;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    await closeServer(this.#server);
  }

  /** Registers (or replaces) an application in a tenant; the tenant then exists. */
  registerApplication(app: FakeAadApplication): void {
    this.#tenants.add(app.tenantId.toLowerCase());
    const encoder = new TextEncoder();
    this.#tokens.registerServicePrincipal({
      tenantId: app.tenantId,
      clientId: app.clientId,
      ...(app.principalId !== undefined ? { principalId: app.principalId } : {}),
      ...(app.secret !== undefined ? { secret: app.secret } : {}),
      ...(app.certificatePem !== undefined ? { certificate: encoder.encode(app.certificatePem), password: "" } : {}),
    });
    const key = appKey(app.tenantId, app.clientId);
    if (app.certificatePem === undefined) this.#certificates.delete(key);
    else this.#certificates.set(key, [app.certificatePem]);
  }

  /** Answers the next `count` token requests with `fault`. */
  failNext(fault: FakeAadFault, count = 1): void {
    this.#faults.push({ fault, remaining: count });
  }

  /** Counters since start or the last {@link resetCounters}. */
  counts(): FakeAadCounts {
    const errors: Record<string, number> = {};
    for (const entry of this.#log) if (entry.kind === "token" && entry.error !== undefined) errors[entry.error] = (errors[entry.error] ?? 0) + 1;
    return {
      requests: this.#log.length,
      discovery: this.#log.filter((e) => e.kind === "discovery").length,
      tokenRequests: this.#log.filter((e) => e.kind === "token").length,
      issued: this.#issued,
      errors,
    };
  }

  /** Every answered request, in completion order. */
  get requestLog(): readonly FakeAadRequestLogEntry[] {
    return this.#log;
  }

  /** Clears counters and the log. */
  resetCounters(): void {
    this.#log.length = 0;
    this.#issued = 0;
  }

  // ── Request handling ──────────────────────────────────────────────────────────────────────────

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", this.url);
    const segments = pathSegments(url.pathname) ?? [];
    const tenant = segments[0];
    let entry: Omit<FakeAadRequestLogEntry, "seq" | "method" | "path"> = { kind: "unknown", status: 500 };
    const send = (answer: Answer): void => {
      const error = (answer.body as { error?: unknown } | undefined)?.error;
      entry = { ...entry, status: answer.status, ...(typeof error === "string" ? { error } : {}) };
      sendJson(res, answer.status, answer.body, { "cache-control": "no-store, no-cache", pragma: "no-cache", ...answer.headers });
    };
    try {
      const rest = segments.slice(1).map((s) => s.toLowerCase()).join("/");
      const discovery = rest === "v2.0/.well-known/openid-configuration" || rest === ".well-known/openid-configuration";
      const token = rest === "oauth2/v2.0/token" || rest === "oauth2/token";
      const keys = rest === "discovery/v2.0/keys" || rest === "discovery/keys";
      entry = { kind: discovery ? "discovery" : token ? "token" : keys ? "keys" : "unknown", status: 500, ...(tenant !== undefined ? { tenant } : {}) };
      if (tenant === undefined || (!discovery && !token && !keys)) {
        send({ status: 404, body: aadError("invalid_request", 90010, "The request is not supported by the fake AAD.") });
        return;
      }
      if (!this.#tenants.has(tenant.toLowerCase())) {
        send({
          status: 400,
          body: aadError(
            discovery ? "invalid_tenant" : "invalid_request",
            90002,
            `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
          ),
        });
        return;
      }
      if (discovery) {
        send(method === "GET" ? { status: 200, body: this.#discovery(tenant, rest.startsWith("v2.0")) } : methodNotAllowed(method));
        return;
      }
      if (keys) {
        // Fake tokens are unsigned; an empty key set says so honestly.
        send(method === "GET" ? { status: 200, body: { keys: [] } } : methodNotAllowed(method));
        return;
      }
      if (method !== "POST") {
        send(methodNotAllowed(method));
        return;
      }
      const v2 = rest === "oauth2/v2.0/token";
      const form = new URLSearchParams(await readBody(req));
      const basic = parseBasic(header(req, "authorization"));
      const clientId = form.get("client_id") ?? basic?.clientId ?? "";
      const credential = form.has("client_assertion") ? "client_assertion" : form.has("client_secret") || basic !== undefined ? "client_secret" : "none";
      entry = { ...entry, credential, ...(clientId !== "" ? { clientId } : {}) };
      send(await this.#token(tenant, v2, form, clientId, basic?.secret));
    } catch (error) {
      send({ status: 500, body: aadError("server_error", 90033, `fake AAD failure: ${error instanceof Error ? error.message : String(error)}`) });
    } finally {
      this.#log.push({ seq: this.#log.length + 1, method, path: url.pathname, ...entry });
    }
  }

  #discovery(tenant: string, v2: boolean): unknown {
    const base = `${this.url}/${tenant}`;
    const suffix = v2 ? "/v2.0" : "";
    return {
      token_endpoint: `${base}/oauth2${suffix}/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/discovery${suffix}/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: v2 ? `${base}/v2.0` : `https://sts.windows.net/${tenant}/`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.url}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2${suffix}/authorize`,
      device_authorization_endpoint: `${base}/oauth2${suffix}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2${suffix}/logout`,
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
      tenant_region_scope: "EU",
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
      rbac_url: "https://pas.windows.net",
    };
  }

  async #token(tenant: string, v2: boolean, form: URLSearchParams, clientId: string, basicSecret: string | undefined): Promise<Answer> {
    const grant = form.get("grant_type");
    if (grant === null || grant === "") return { status: 400, body: aadError("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.") };
    if (grant !== "client_credentials") {
      return { status: 400, body: aadError("unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grant}'.`) };
    }
    if (clientId === "") return { status: 400, body: aadError("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.") };
    const resource = v2 ? scopeToResource(form.get("scope")) : ok(form.get("resource") ?? "");
    if (!resource.ok) return { status: 400, body: aadError("invalid_scope", resource.error.code, resource.error.description) };
    if (resource.value === "") {
      return { status: 400, body: aadError("invalid_request", 900144, `The request body must contain the following parameter: '${v2 ? "scope" : "resource"}'.`) };
    }
    const queued = this.#faults.find((f) => f.remaining > 0);
    if (queued !== undefined) {
      queued.remaining--;
      const code = /^AADSTS(\d+)/.exec(queued.fault.description)?.[1];
      return {
        status: queued.fault.status,
        body: aadErrorRaw(queued.fault.error, queued.fault.description, code === undefined ? [] : [Number(code)]),
        ...(queued.fault.headers !== undefined ? { headers: { ...queued.fault.headers } } : {}),
      };
    }
    const authorityHost = this.url;
    let result: Result<ImdsTokenBody, TokenSourceError>;
    const assertion = form.get("client_assertion");
    const secret = form.get("client_secret") ?? basicSecret;
    if (assertion !== null) {
      const type = form.get("client_assertion_type");
      if (type !== JWT_BEARER_ASSERTION_TYPE) {
        return { status: 400, body: aadError("invalid_request", 50027, `Invalid client_assertion_type '${type ?? ""}'; expected '${JWT_BEARER_ASSERTION_TYPE}'.`) };
      }
      const certificates = this.#certificates.get(appKey(tenant, clientId)) ?? [];
      let certificate = "";
      if (certificates.length > 0) {
        const verified = verifyClientAssertion(assertion, {
          clientId,
          audiences: [`${this.url}/${tenant}/oauth2/v2.0/token`, `${this.url}/${tenant}/oauth2/token`],
          certificates,
          nowSeconds: Math.floor(this.#clock.now() / 1000),
          skewSeconds: this.#options.assertionSkewSeconds ?? 300,
        });
        if (!verified.ok) return rejection(verified.rejection);
        certificate = verified.certificate;
      }
      // The token source decides whether the application exists and owns this certificate (an
      // application without a registered certificate fails there, as AAD would).
      result = await this.#tokens.acquire({
        kind: "servicePrincipalCertificate",
        resource: resource.value,
        tenantId: tenant,
        clientId,
        certificate: new TextEncoder().encode(certificate),
        password: "",
        authorityHost,
      });
    } else if (secret !== undefined && secret !== null) {
      result = await this.#tokens.acquire({ kind: "servicePrincipalSecret", resource: resource.value, tenantId: tenant, clientId, secret, auxiliaryTenantIds: [], authorityHost });
    } else {
      return { status: 401, body: aadError("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.") };
    }
    if (!result.ok) return tokenError(result.error);
    this.#issued++;
    const body = result.value;
    if (v2) {
      return { status: 200, body: { token_type: "Bearer", expires_in: Number(body.expires_in), ext_expires_in: Number(body.ext_expires_in ?? body.expires_in), access_token: body.access_token } };
    }
    return {
      status: 200,
      body: {
        token_type: "Bearer",
        expires_in: body.expires_in,
        ext_expires_in: body.ext_expires_in ?? body.expires_in,
        expires_on: body.expires_on,
        not_before: body.not_before,
        resource: body.resource,
        access_token: body.access_token,
      },
    };
  }
}

function appKey(tenantId: string, clientId: string): string {
  return `${tenantId.toLowerCase()}/${clientId.toLowerCase()}`;
}

function methodNotAllowed(method: string): Answer {
  return { status: 405, body: aadError("invalid_request", 90056, `The method '${method}' is not supported here.`) };
}

function parseBasic(authorization: string | undefined): { clientId: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? "");
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { clientId: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
}

/**
 * The resource of a client-credentials `scope`: exactly one `<resource>/.default` (OIDC scopes ignored),
 * as AAD requires for this grant (AADSTS1002012).
 */
function scopeToResource(scope: string | null): Result<string, { code: number; description: string }> {
  const scopes = (scope ?? "").split(/\s+/).filter((s) => s !== "" && !["openid", "profile", "offline_access", "email"].includes(s));
  if (scopes.length === 0) return ok("");
  const only = scopes[0] ?? "";
  if (scopes.length > 1 || !only.endsWith("/.default")) {
    return err({
      code: 1002012,
      description: `The provided value for scope ${scopes.join(" ")} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    });
  }
  return ok(only.slice(0, -"/.default".length));
}

function aadErrorRaw(error: string, description: string, codes: readonly number[]): unknown {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  return {
    error,
    error_description: `${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: codes,
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    ...(codes[0] !== undefined ? { error_uri: `https://login.microsoftonline.com/error?code=${codes[0]}` } : {}),
  };
}

/** AAD's error body for an `AADSTS<code>` failure. */
function aadError(error: string, code: number, text: string): unknown {
  return aadErrorRaw(error, `AADSTS${code}: ${text}`, [code]);
}

function rejection(r: ClientAssertionRejection): Answer {
  return { status: r.status, body: aadErrorRaw(r.error, r.description, [r.code]) };
}

function tokenError(error: TokenSourceError): Answer {
  switch (error.kind) {
    case "rejected": {
      const code = /^AADSTS(\d+)/.exec(error.description)?.[1];
      return { status: error.status, body: aadErrorRaw(error.error, error.description, code === undefined ? [] : [Number(code)]) };
    }
    case "throttled":
      return {
        status: 429,
        body: aadError("temporarily_unavailable", 50196, "The server terminated an operation because it encountered a client request loop."),
        headers: { "retry-after": String(Math.ceil(error.retryAfterMs / 1000)) },
      };
    case "unavailable":
      return { status: 503, body: aadError("temporarily_unavailable", 90033, `A transient error has occurred. Please try again. (${error.message})`) };
  }
}

/** A deterministic client id for tests that need one (`fakeGuid("app/<name>")`). */
export function fakeClientId(name: string): string {
  return fakeGuid(`app/${name}`);
}
