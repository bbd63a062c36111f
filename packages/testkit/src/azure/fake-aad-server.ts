import type { Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { err, ok, type ClockPort, type ImdsTokenBody, type Result, type TokenSourceError } from "@podid/core";
import type { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { fakeGuid } from "../fakes/fake-ids.js";
import { FakeTokenSource } from "../fakes/fake-token-source.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { aadError, aadErrorRaw, tokenSourceErrorAnswer as tokenError, type AadAnswer } from "./aad-errors.js";
import { FederatedExchange, type FakeAadFederatedCounts, type FakeAadFederatedExchange } from "./aad-federated-exchange.js";
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
  /**
   * User-assigned identities and their federated identity credentials: a client assertion whose
   * `client_id` is not a registered application is then treated as a federated exchange for the identity
   * with that client id (its tenant exists). The default token source mints with this catalog; a custom
   * `tokens` must be given the same one.
   */
  readonly catalog?: FakeIdentityCatalog;
  /** PEM CA certificates trusted when fetching an issuer's discovery and JWKS, besides the run CA (`ca`) and Node's roots. */
  readonly trustedIssuerCas?: readonly string[];
  /** How long an issuer's discovery and JWKS are reused, ms (default 60 000; an unknown `kid` refetches at once). */
  readonly issuerCacheTtlMs?: number;
  /** Time allowed for each issuer request, ms (default 5 000). */
  readonly issuerTimeoutMs?: number;
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

type Answer = AadAnswer;

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
 *
 * Started with a `catalog`, it also performs Entra ID's federated exchange (`ClientAssertionCredential` with a
 * Kubernetes service-account token for a user-assigned identity's client id): the assertion's issuer and
 * subject must match a propagated federated identity credential of that identity exactly, its audience
 * that credential's, its lifetime now, and its RS256 signature a key of the issuer's JWKS found through
 * HTTPS OIDC discovery (see `aad-federated-exchange.ts`); the token then names the identity (`xms_mirid`).
 */
export class FakeAadServer {
  readonly #server: Server;
  readonly #options: FakeAadServerOptions;
  readonly #host: string;
  readonly #tokens: FakeTokenSource;
  readonly #clock: ClockPort;
  readonly #tenants = new Set<string>();
  readonly #certificates = new Map<string, string[]>();
  readonly #applications = new Set<string>();
  readonly #federated: FederatedExchange;
  readonly #faults: { fault: FakeAadFault; remaining: number }[] = [];
  readonly #log: FakeAadRequestLogEntry[] = [];
  #port = 0;
  #issued = 0;

  private constructor(server: Server, options: FakeAadServerOptions, ca: TestCertificateAuthority) {
    this.#server = server;
    this.#options = options;
    this.#host = options.host ?? "127.0.0.1";
    this.#clock = options.clock ?? systemClock;
    const skewSeconds = options.assertionSkewSeconds ?? 300;
    this.#tokens =
      options.tokens ?? new FakeTokenSource({ clock: this.#clock, assertionSkewSeconds: skewSeconds, ...(options.catalog !== undefined ? { catalog: options.catalog } : {}) });
    for (const tenant of options.tenants ?? []) this.#tenants.add(tenant.toLowerCase());
    this.#federated = new FederatedExchange({
      catalog: options.catalog,
      tokens: this.#tokens,
      clock: this.#clock,
      skewSeconds,
      trustedCas: [ca.certPem, ...(options.trustedIssuerCas ?? [])],
      issuerCacheTtlMs: options.issuerCacheTtlMs ?? 60_000,
      issuerTimeoutMs: options.issuerTimeoutMs ?? 5_000,
    });
  }

  /** Starts the server (HTTPS, certificate signed by `options.ca` or the run CA) and resolves once it listens. */
  static async start(options: FakeAadServerOptions = {}): Promise<FakeAadServer> {
    const host = options.host ?? "127.0.0.1";
    const ca = options.ca ?? TestCertificateAuthority.fromEnvironment();
    let instance: FakeAadServer | undefined;
    const server = await createTlsServer(host, ca, (req, res) => {
      if (instance !== undefined) void instance.#handle(req, res);
    });
    instance = new FakeAadServer(server, options, ca);
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
    this.#applications.add(key);
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

  /** Every federated exchange (accepted or refused, with the reason and the assertion's claims), oldest first. */
  get federatedExchanges(): readonly FakeAadFederatedExchange[] {
    return this.#federated.log;
  }

  /** Totals of {@link federatedExchanges}, and how many issuer documents (discovery, JWKS) were fetched. */
  federatedCounts(): FakeAadFederatedCounts {
    return this.#federated.counts();
  }

  /** Forgets cached issuer discovery documents and keys (the next exchange fetches them again). */
  forgetIssuerKeys(): void {
    this.#federated.forgetIssuerKeys();
  }

  /** Clears counters and the logs (the issuer key cache stays). */
  resetCounters(): void {
    this.#log.length = 0;
    this.#issued = 0;
    this.#federated.reset();
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
      if (!this.#tenantExists(tenant)) {
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

  /** Tenants named at start, of registered applications, or of the catalog's identities. */
  #tenantExists(tenant: string): boolean {
    const wanted = tenant.toLowerCase();
    return this.#tenants.has(wanted) || (this.#options.catalog?.list().some((identity) => identity.tenantId.toLowerCase() === wanted) ?? false);
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
      if (this.#options.catalog !== undefined && !this.#applications.has(appKey(tenant, clientId))) {
        // Not an application of this tenant: Entra ID treats the assertion as a federated credential of the
        // user-assigned identity with this client id.
        const exchanged = await this.#federated.exchange(tenant, clientId, assertion, resource.value, authorityHost);
        if (!exchanged.ok) return exchanged.error;
        result = exchanged;
      } else {
        const certified = await this.#certificateAssertion(tenant, clientId, assertion, resource.value, authorityHost);
        if (!certified.ok) return certified.error;
        result = certified.value;
      }
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

  /**
   * A certificate (`private_key_jwt`) client assertion of a registered application: verified against its
   * certificates, then the token source decides whether the application exists and owns the certificate
   * (an application without a registered certificate fails there, as AAD would).
   */
  async #certificateAssertion(
    tenant: string,
    clientId: string,
    assertion: string,
    resource: string,
    authorityHost: string,
  ): Promise<Result<Result<ImdsTokenBody, TokenSourceError>, Answer>> {
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
      if (!verified.ok) return err(rejection(verified.rejection));
      certificate = verified.certificate;
    }
    const acquired = await this.#tokens.acquire({
      kind: "servicePrincipalCertificate",
      resource,
      tenantId: tenant,
      clientId,
      certificate: new TextEncoder().encode(certificate),
      password: "",
      authorityHost,
    });
    return ok(acquired);
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

function rejection(r: ClientAssertionRejection): Answer {
  return { status: r.status, body: aadErrorRaw(r.error, r.description, [r.code]) };
}

/** A deterministic client id for tests that need one (`fakeGuid("app/<name>")`). */
export function fakeClientId(name: string): string {
  return fakeGuid(`app/${name}`);
}
