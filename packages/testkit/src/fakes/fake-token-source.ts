import {
  computeTargetId,
  err,
  identityKey,
  ok,
  type CancellationSignal,
  type CatalogIdentity,
  type ClockPort,
  type ComputeTarget,
  type ImdsTokenBody,
  type Result,
  type TokenSourceError,
  type TokenSourcePort,
  type TokenSourceRequest,
} from "@podid/core";
import type { FakeCompute } from "./fake-compute.js";
import { FAKE_TENANT_ID, fakeIdentityRecord, type FakeIdentityCatalog } from "./fake-identity-catalog.js";
import { checkFederatedAssertion, decodeAssertion } from "./federated-exchange.js";
import { fakeGuid } from "./fake-ids.js";
import { encodeFakeJwt } from "./fake-jwt.js";

/** A service principal the fake AAD knows (types 1 and 2). */
export interface FakeServicePrincipal {
  readonly tenantId: string;
  readonly clientId: string;
  /** Object id put into `oid` (default derived from the client id). */
  readonly principalId?: string;
  /** The client secret accepted for type 1 requests. */
  readonly secret?: string;
  /** The certificate bytes accepted for type 2 requests (compared byte for byte). */
  readonly certificate?: Uint8Array;
  /** The certificate password accepted with {@link certificate} (default `""`). */
  readonly password?: string;
}

/** Options of {@link FakeTokenSource}. */
export interface FakeTokenSourceOptions {
  /**
   * Where IMDS looks for identities: the node's VM or scale set in a {@link FakeCompute}. Without it
   * the source uses its own allow-set ({@link FakeTokenSource.allow}).
   */
  readonly attachment?: { readonly compute: FakeCompute; readonly target: ComputeTarget };
  /**
   * Client/principal ids of user-assigned identities (unregistered ones get ids derived from their key),
   * and the federated credentials `federated` requests are checked against.
   */
  readonly catalog?: FakeIdentityCatalog;
  /** Clock skew tolerated on a federated assertion's `nbf`/`exp`, seconds (default 300 like AAD). */
  readonly assertionSkewSeconds?: number;
  /** Time source for token times, and for latency and propagation delay (default: real time, no latency). */
  readonly clock?: ClockPort;
  /** Virtual latency before each answer (needs a clock that can sleep). */
  readonly latencyMs?: number | ((request: TokenSourceRequest) => number);
  /**
   * IMDS learns about a newly attached identity this long after the PATCH completed (needs `attachment`
   * and a clock); until then it answers "Identity not found", which NMI must treat as retryable.
   */
  readonly imdsPropagationDelayMs?: number;
  /** Token lifetime in seconds (default 86 399, what IMDS hands out for a fresh token). */
  readonly tokenLifetimeSeconds?: number;
  /** Tenant of managed identities that are not in the catalog (default {@link FAKE_TENANT_ID}). */
  readonly tenantId?: string;
}

/** One `acquire` call as recorded by {@link FakeTokenSource.calls}. */
export interface FakeTokenCall {
  readonly seq: number;
  readonly atMs: number;
  readonly kind: TokenSourceRequest["kind"];
  readonly resource: string;
  /** The managed-identity selector, or the service principal's client id. Never secrets. */
  readonly selector?: string;
  /** `ok`, or the kind of the error returned. */
  readonly outcome: "ok" | TokenSourceError["kind"];
  /** For successes: the identity's client id (`appid` claim). */
  readonly clientId?: string;
  /** For rejections: the OAuth error code (e.g. `invalid_request`). */
  readonly error?: string;
}

/** Counters of {@link FakeTokenSource}. */
export interface FakeTokenCounts {
  readonly calls: number;
  readonly issued: number;
  readonly rejected: number;
  readonly unavailable: number;
  readonly throttled: number;
}

interface Resolved {
  readonly clientId: string;
  readonly principalId: string;
  readonly tenantId: string;
  readonly mirid?: string;
}

/** `rejected` with the body IMDS sends when the identity is not on the VM (issue #1085). */
function identityNotFound(): TokenSourceError {
  return { kind: "rejected", status: 400, error: "invalid_request", description: "Identity not found" };
}

/**
 * A fake IMDS + AAD implementing {@link TokenSourcePort}. Managed-identity requests succeed only for
 * identities attached to the configured compute target (or allowed explicitly), exactly where real IMDS
 * answers 400 `invalid_request` "Identity not found"; without a selector it returns the system-assigned
 * identity, or the only user-assigned one when there is no system identity (IMDS's rule), and refuses
 * when that is ambiguous. Service-principal requests are checked against registered credentials with
 * AAD-style errors; federated requests (a service-account token as client assertion) against the
 * catalog's identities and propagated federated credentials, claims only (AADSTS700016, 70021, 700024).
 *
 * Tokens are unsigned JWT-shaped strings whose claims (`aud`, `appid`, `oid`, `tid`, `xms_mirid`, `iat`,
 * `nbf`, `exp`) name the identity, so tests can prove which identity a pod received (decode with
 * `decodeFakeJwt`). Bodies use IMDS's all-string shape including `expires_on` and `client_id`.
 */
export class FakeTokenSource implements TokenSourcePort {
  readonly #options: FakeTokenSourceOptions;
  readonly #allowed = new Map<string, string>();
  #systemPrincipal: string | undefined;
  readonly #principals = new Map<string, FakeServicePrincipal>();
  readonly #failures: TokenSourceError[] = [];
  readonly #faults = new Set<(request: TokenSourceRequest) => TokenSourceError | undefined>();
  readonly #calls: FakeTokenCall[] = [];
  readonly #issuedByClientId = new Map<string, number>();
  #tokenCounter = 0;

  /** Creates a token source; see {@link FakeTokenSourceOptions}. */
  constructor(options: FakeTokenSourceOptions = {}) {
    this.#options = options;
  }

  // ── Set-up ────────────────────────────────────────────────────────────────────────────────────

  /** Allow-set mode: makes a user-assigned identity available as if attached to the VM. */
  allow(id: string): void {
    const key = identityKey(id);
    if (key === undefined) throw new Error(`FakeTokenSource.allow: not a user-assigned identity id: ${id}`);
    this.#allowed.set(key, id);
  }

  /** Allow-set mode: removes an identity again. */
  revoke(id: string): void {
    this.#allowed.delete(id.toLowerCase());
  }

  /** Allow-set mode: gives the VM a system-assigned identity (principal id derived when omitted). */
  allowSystemAssigned(principalId: string = fakeGuid("system/allow-set")): void {
    this.#systemPrincipal = principalId;
  }

  /** Registers a service principal for type 1/2 requests. */
  registerServicePrincipal(principal: FakeServicePrincipal): void {
    this.#principals.set(`${principal.tenantId.toLowerCase()}/${principal.clientId.toLowerCase()}`, principal);
  }

  /** Makes the next `n` requests fail with `error` (before any other check). */
  failNext(n: number, error: TokenSourceError): void {
    for (let i = 0; i < n; i++) this.#failures.push(error);
  }

  /** The next `n` requests are throttled (IMDS's 429). */
  throttleNext(n: number, retryAfterMs: number): void {
    this.failNext(n, { kind: "throttled", retryAfterMs, message: "IMDS: too many requests" });
  }

  /** The next `n` requests find IMDS/AAD unreachable. */
  unavailableNext(n: number): void {
    this.failNext(n, { kind: "unavailable", message: "connect ECONNREFUSED 169.254.169.254:80" });
  }

  /** Adds a predicate consulted on every request; returns a function removing it. */
  injectFault(fault: (request: TokenSourceRequest) => TokenSourceError | undefined): () => void {
    this.#faults.add(fault);
    return () => {
      this.#faults.delete(fault);
    };
  }

  // ── Inspection ────────────────────────────────────────────────────────────────────────────────

  /** Every request so far, oldest first (without secrets). */
  get calls(): readonly FakeTokenCall[] {
    return this.#calls;
  }

  /** Totals by outcome. */
  counts(): FakeTokenCounts {
    const by = (outcome: FakeTokenCall["outcome"]): number => this.#calls.filter((c) => c.outcome === outcome).length;
    return { calls: this.#calls.length, issued: by("ok"), rejected: by("rejected"), unavailable: by("unavailable"), throttled: by("throttled") };
  }

  /** Tokens issued for the identity with this client id (case-insensitive). */
  issuedFor(clientId: string): number {
    return this.#issuedByClientId.get(clientId.toLowerCase()) ?? 0;
  }

  /** Clears the call log and counters. */
  resetCounters(): void {
    this.#calls.length = 0;
    this.#issuedByClientId.clear();
  }

  // ── TokenSourcePort ───────────────────────────────────────────────────────────────────────────

  /**
   * Issues a token or explains why not. An abort (before or during the latency) yields `unavailable`
   * with message "request aborted", keeping the port's never-throw contract.
   */
  async acquire(request: TokenSourceRequest, signal?: CancellationSignal): Promise<Result<ImdsTokenBody, TokenSourceError>> {
    const startedAt = this.#now();
    const latency = typeof this.#options.latencyMs === "function" ? this.#options.latencyMs(request) : (this.#options.latencyMs ?? 0);
    try {
      if (signal?.aborted === true) throw new Error("aborted");
      const clock = this.#options.clock;
      if (clock !== undefined && latency > 0) await clock.sleep(latency, signal);
      else await Promise.resolve();
    } catch {
      return this.#record(request, startedAt, err({ kind: "unavailable", message: "request aborted" }));
    }
    const queued = this.#failures.shift();
    if (queued !== undefined) return this.#record(request, startedAt, err(queued));
    for (const fault of this.#faults) {
      const error = fault(request);
      if (error !== undefined) return this.#record(request, startedAt, err(error));
    }
    if (request.resource.trim() === "") {
      return this.#record(request, startedAt, err({ kind: "rejected", status: 400, error: "invalid_request", description: "Required audience parameter not specified" }));
    }
    const resolved =
      request.kind === "managedIdentity"
        ? this.#resolveManaged(request)
        : request.kind === "federated"
          ? this.#resolveFederated(request)
          : this.#resolvePrincipal(request);
    if (!resolved.ok) return this.#record(request, startedAt, resolved);
    return this.#record(request, startedAt, ok(this.#issue(request, resolved.value)));
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  #resolveManaged(request: Extract<TokenSourceRequest, { kind: "managedIdentity" }>): Result<Resolved, TokenSourceError> {
    const { attached, systemPrincipal, systemMirid } = this.#visibleIdentities();
    const records = [...attached.entries()].map(([key, id]) => ({ key, record: this.#identityRecord(key, id) }));
    const selector = request.selector;
    if (selector === undefined) {
      if (systemPrincipal !== undefined) {
        return ok({ clientId: fakeGuid(`system-client/${systemPrincipal}`), principalId: systemPrincipal, tenantId: this.#tenant(), mirid: systemMirid });
      }
      const only = records.length === 1 ? records[0] : undefined;
      if (only !== undefined) return ok(toResolved(only.record));
      if (records.length > 1) {
        return err({
          kind: "rejected",
          status: 400,
          error: "invalid_request",
          description: "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
        });
      }
      return err(identityNotFound());
    }
    const wanted = selector.value.toLowerCase();
    const match = records.find(({ key, record }) =>
      selector.by === "client_id"
        ? record.clientId.toLowerCase() === wanted
        : selector.by === "object_id"
          ? record.principalId.toLowerCase() === wanted
          : key === (identityKey(selector.value) ?? wanted),
    );
    return match === undefined ? err(identityNotFound()) : ok(toResolved(match.record));
  }

  /**
   * Entra ID's claim checks of a federated exchange against the catalog's identities and propagated
   * federated credentials (issuer, subject, audience, validity window, tenant). The signature is not
   * verified here — `FakeAadServer` does that against the issuer's JWKS.
   */
  #resolveFederated(request: Extract<TokenSourceRequest, { kind: "federated" }>): Result<Resolved, TokenSourceError> {
    const decoded = decodeAssertion(request.assertion);
    const checked = decoded.ok
      ? checkFederatedAssertion({
          tenantId: request.tenantId,
          clientId: request.clientId,
          assertion: decoded.value,
          catalog: this.#options.catalog,
          nowSeconds: Math.floor(this.#now() / 1000),
          skewSeconds: this.#options.assertionSkewSeconds ?? 300,
        })
      : decoded;
    if (!checked.ok) return err({ kind: "rejected", status: checked.error.status, error: checked.error.error, description: checked.error.description });
    return ok(toResolved(checked.value.identity));
  }

  #resolvePrincipal(request: Extract<TokenSourceRequest, { kind: "servicePrincipalSecret" | "servicePrincipalCertificate" }>): Result<Resolved, TokenSourceError> {
    const principal = this.#principals.get(`${request.tenantId.toLowerCase()}/${request.clientId.toLowerCase()}`);
    if (principal === undefined) {
      return err({
        kind: "rejected",
        status: 400,
        error: "unauthorized_client",
        description: `AADSTS700016: Application with identifier '${request.clientId}' was not found in the directory '${request.tenantId}'.`,
      });
    }
    if (request.kind === "servicePrincipalSecret") {
      if (principal.secret === undefined || principal.secret !== request.secret) {
        return err({ kind: "rejected", status: 401, error: "invalid_client", description: "AADSTS7000215: Invalid client secret provided." });
      }
    } else {
      const cert = principal.certificate;
      const sameCert = cert !== undefined && cert.length === request.certificate.length && cert.every((b, i) => b === request.certificate[i]);
      if (!sameCert || (principal.password ?? "") !== request.password) {
        return err({ kind: "rejected", status: 401, error: "invalid_client", description: "AADSTS700027: Client assertion contains an invalid signature." });
      }
    }
    return ok({ clientId: principal.clientId, principalId: principal.principalId ?? fakeGuid(`sp/${principal.clientId.toLowerCase()}`), tenantId: principal.tenantId });
  }

  #visibleIdentities(): { attached: Map<string, string>; systemPrincipal: string | undefined; systemMirid: string } {
    const attachment = this.#options.attachment;
    if (attachment === undefined) {
      return { attached: new Map(this.#allowed), systemPrincipal: this.#systemPrincipal, systemMirid: "" };
    }
    const snapshot = attachment.compute.identitiesOf(attachment.target);
    if (snapshot === undefined) return { attached: new Map(), systemPrincipal: undefined, systemMirid: "" };
    const delay = this.#options.imdsPropagationDelayMs ?? 0;
    const now = this.#options.clock?.now() ?? 0;
    const attached = new Map([...snapshot.userAssigned].filter(([key]) => (snapshot.attachedAtMs.get(key) ?? 0) + delay <= now || delay === 0));
    return { attached, systemPrincipal: snapshot.systemAssignedPrincipalId, systemMirid: computeTargetId(attachment.target) };
  }

  #identityRecord(key: string, id: string): CatalogIdentity {
    return this.#options.catalog?.lookup(key) ?? fakeIdentityRecord(id, this.#tenant());
  }

  #tenant(): string {
    return this.#options.tenantId ?? FAKE_TENANT_ID;
  }

  #issue(request: TokenSourceRequest, who: Resolved): ImdsTokenBody {
    const nowSec = Math.floor(this.#now() / 1000);
    const lifetime = this.#options.tokenLifetimeSeconds ?? 86_399;
    const uti = fakeGuid(`token/${++this.#tokenCounter}`);
    const access_token = encodeFakeJwt({
      aud: request.resource,
      iss: `https://sts.windows.net/${who.tenantId}/`,
      appid: who.clientId,
      oid: who.principalId,
      sub: who.principalId,
      tid: who.tenantId,
      ...(who.mirid !== undefined && who.mirid !== "" ? { xms_mirid: who.mirid } : {}),
      iat: nowSec,
      nbf: nowSec,
      exp: nowSec + lifetime,
      uti,
      ver: "1.0",
    });
    this.#issuedByClientId.set(who.clientId.toLowerCase(), (this.#issuedByClientId.get(who.clientId.toLowerCase()) ?? 0) + 1);
    const echo: Record<string, string> = {};
    if (request.kind === "managedIdentity" && request.selector?.by === "msi_res_id") echo["msi_res_id"] = request.selector.value;
    if (request.kind === "managedIdentity" && request.selector?.by === "object_id") echo["object_id"] = request.selector.value;
    return {
      access_token,
      refresh_token: "",
      expires_in: String(lifetime),
      expires_on: String(nowSec + lifetime),
      ext_expires_in: String(lifetime),
      not_before: String(nowSec),
      resource: request.resource,
      token_type: "Bearer",
      client_id: who.clientId,
      ...echo,
    };
  }

  #record(request: TokenSourceRequest, atMs: number, result: Result<ImdsTokenBody, TokenSourceError>): Result<ImdsTokenBody, TokenSourceError> {
    const selector =
      request.kind === "managedIdentity" ? (request.selector === undefined ? undefined : `${request.selector.by}=${request.selector.value}`) : request.clientId;
    this.#calls.push({
      seq: this.#calls.length + 1,
      atMs,
      kind: request.kind,
      resource: request.resource,
      ...(selector !== undefined ? { selector } : {}),
      outcome: result.ok ? "ok" : result.error.kind,
      ...(result.ok ? { clientId: result.value.client_id } : {}),
      ...(!result.ok && result.error.kind === "rejected" ? { error: result.error.error } : {}),
    });
    return result;
  }

  #now(): number {
    return this.#options.clock?.now() ?? Date.now();
  }
}

function toResolved(record: CatalogIdentity): Resolved {
  return { clientId: record.clientId, principalId: record.principalId, tenantId: record.tenantId, mirid: record.id };
}
