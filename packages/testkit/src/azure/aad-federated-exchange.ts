import { verify } from "node:crypto";
import { err, ok, type ClockPort, type ImdsTokenBody, type Result } from "@podid/core";
import type { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import type { FakeTokenSource } from "../fakes/fake-token-source.js";
import { checkFederatedAssertion, decodeAssertion, federatedRefusal, type FederatedRefusal, type FederatedExchangeRefusalReason } from "../fakes/federated-exchange.js";
import { aadErrorRaw, tokenSourceErrorAnswer, type AadAnswer } from "./aad-errors.js";
import { OidcIssuerKeys } from "./oidc-issuer-keys.js";

/** One federated exchange, as recorded in `FakeAadServer.federatedExchanges`. */
export interface FakeAadFederatedExchange {
  readonly seq: number;
  readonly atMs: number;
  readonly tenant: string;
  readonly clientId: string;
  readonly resource: string;
  readonly outcome: "accepted" | "refused";
  /** Why it was refused: one of Entra ID's checks, or `tokenSource` when the token source refused (an injected fault). */
  readonly reason?: FederatedExchangeRefusalReason | "tokenSource";
  /** The `AADSTS` code of a refusal. */
  readonly code?: number;
  /** The assertion's claims, when it could be read. */
  readonly issuer?: string;
  readonly subject?: string;
  readonly audiences?: readonly string[];
  /** The identity and the federated credential that trusted the assertion (accepted exchanges). */
  readonly identityId?: string;
  readonly credentialName?: string;
}

/** Counters of federated exchanges. */
export interface FakeAadFederatedCounts {
  readonly exchanges: number;
  readonly accepted: number;
  readonly refused: number;
  readonly byReason: Readonly<Partial<Record<FederatedExchangeRefusalReason | "tokenSource", number>>>;
  /** HTTPS documents (discovery, JWKS) fetched from issuers since start (not reset: proof of caching). */
  readonly issuerDocumentFetches: number;
}

/** What the exchange needs from its server. */
export interface FederatedExchangeOptions {
  readonly catalog: FakeIdentityCatalog | undefined;
  readonly tokens: FakeTokenSource;
  readonly clock: ClockPort;
  readonly skewSeconds: number;
  /** PEM CAs trusted for issuers besides Node's roots. */
  readonly trustedCas: readonly string[];
  readonly issuerCacheTtlMs: number;
  readonly issuerTimeoutMs: number;
}

/**
 * Entra ID's federated exchange (client credentials with a JWT-bearer client assertion from an external
 * OIDC issuer, e.g. a Kubernetes service-account token): reads the assertion (AADSTS50027), requires RS256
 * (AADSTS5002738), runs the claim checks of `checkFederatedAssertion` (client id of a user-assigned identity
 * in this tenant → AADSTS700016; a propagated federated credential with exactly this issuer, subject and
 * audience → AADSTS70021; validity window → AADSTS700024), then fetches the issuer's discovery document and
 * JWKS over HTTPS (cached; failure → AADSTS50166) and verifies the signature with the key named by `kid`
 * (AADSTS50013). The token itself comes from the token source, so its faults and counters apply.
 */
export class FederatedExchange {
  readonly #options: FederatedExchangeOptions;
  readonly #keys: OidcIssuerKeys;
  readonly #log: FakeAadFederatedExchange[] = [];

  /** Creates the exchange with an empty issuer key cache and log. */
  constructor(options: FederatedExchangeOptions) {
    this.#options = options;
    this.#keys = new OidcIssuerKeys({
      trustedCas: options.trustedCas,
      cacheTtlMs: options.issuerCacheTtlMs,
      timeoutMs: options.issuerTimeoutMs,
      now: () => options.clock.now(),
    });
  }

  /** Every exchange, oldest first. */
  get log(): readonly FakeAadFederatedExchange[] {
    return this.#log;
  }

  /** Totals of {@link log}. */
  counts(): FakeAadFederatedCounts {
    const byReason: Partial<Record<FederatedExchangeRefusalReason | "tokenSource", number>> = {};
    for (const e of this.#log) if (e.reason !== undefined) byReason[e.reason] = (byReason[e.reason] ?? 0) + 1;
    const accepted = this.#log.filter((e) => e.outcome === "accepted").length;
    return { exchanges: this.#log.length, accepted, refused: this.#log.length - accepted, byReason, issuerDocumentFetches: this.#keys.documentFetches };
  }

  /** Clears the log (the issuer key cache stays). */
  reset(): void {
    this.#log.length = 0;
  }

  /** Forgets cached issuer keys, so the next exchange fetches them again. */
  forgetIssuerKeys(): void {
    this.#keys.clear();
  }

  /** Exchanges `assertion` for a token of `resource`, or answers AAD's refusal. */
  async exchange(tenant: string, clientId: string, assertion: string, resource: string, authorityHost: string): Promise<Result<ImdsTokenBody, AadAnswer>> {
    const base = { seq: this.#log.length + 1, atMs: this.#options.clock.now(), tenant, clientId, resource };
    const refuse = (refusal: FederatedRefusal, claims: Partial<FakeAadFederatedExchange> = {}): Result<never, AadAnswer> => {
      this.#log.push({ ...base, ...claims, outcome: "refused", reason: refusal.reason, code: refusal.code });
      return err({ status: refusal.status, body: aadErrorRaw(refusal.error, refusal.description, [refusal.code]) });
    };
    const decoded = decodeAssertion(assertion);
    if (!decoded.ok) return refuse(decoded.error);
    const token = decoded.value;
    const claims = { issuer: token.issuer, subject: token.subject, audiences: token.audiences };
    const alg = token.header["alg"];
    if (alg !== "RS256") {
      return refuse(federatedRefusal("unsupportedAlgorithm", `Invalid JWT token. '${String(alg)}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256'`), claims);
    }
    const checked = checkFederatedAssertion({
      tenantId: tenant,
      clientId,
      assertion: token,
      catalog: this.#options.catalog,
      nowSeconds: Math.floor(this.#options.clock.now() / 1000),
      skewSeconds: this.#options.skewSeconds,
    });
    if (!checked.ok) return refuse(checked.error, claims);
    const kid = token.header["kid"];
    const key = await this.#keys.key(token.issuer, typeof kid === "string" ? kid : "");
    if (!key.ok) {
      return key.error.kind === "unreachable"
        ? refuse(federatedRefusal("issuerUnreachable", `Request to External OIDC endpoint failed. (${key.error.detail})`), claims)
        : refuse(federatedRefusal("keyNotFound", `Assertion failed signature validation. [Reason - The key was not found., Key identifier used by client: '${String(kid)}']`), claims);
    }
    if (!verify("sha256", Buffer.from(token.signingInput), key.value, Buffer.from(token.signature, "base64url"))) {
      return refuse(federatedRefusal("badSignature", "Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]"), claims);
    }
    const issued = await this.#options.tokens.acquire({ kind: "federated", resource, tenantId: tenant, clientId, authorityHost, assertion });
    const matched = { identityId: checked.value.identity.id, credentialName: checked.value.credential.name };
    if (!issued.ok) {
      const error = issued.error;
      const code = error.kind === "rejected" ? Number(/^AADSTS(\d+)/.exec(error.description)?.[1] ?? 0) : 0;
      this.#log.push({ ...base, ...claims, ...matched, outcome: "refused", reason: "tokenSource", ...(code > 0 ? { code } : {}) });
      return err(tokenSourceErrorAnswer(error));
    }
    this.#log.push({ ...base, ...claims, ...matched, outcome: "accepted" });
    return ok(issued.value);
  }
}
