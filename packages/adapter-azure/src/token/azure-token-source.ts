import type { AccessToken, TokenCredential } from "@azure/core-auth";
import {
  err,
  ok,
  type CancellationSignal,
  type ImdsTokenBody,
  type Result,
  type TokenSourceError,
  type TokenSourcePort,
  type TokenSourceRequest,
} from "@podid/core";
import { isKnownAuthorityHost, KNOWN_CLOUDS } from "../config/cloud-environment.js";
import { ImdsClient, type ImdsClientOptions } from "../imds/imds-client.js";
import { accessTokenBody, resourceToScope } from "./access-token-body.js";
import { CredentialCache, credentialKey } from "./credential-cache.js";
import { identityErrorToTokenSourceError } from "./identity-errors.js";

/**
 * `@azure/identity` (with MSAL) and the PKCS#12 reader (the asn1 libraries) are loaded on the first
 * service-principal request, not at start: most nodes only ever serve managed identities through IMDS, and
 * those modules would otherwise sit in every NMI's memory (docs/compatibility.md, "What NMI watches and loads").
 */
const loadIdentity = () => import("@azure/identity");
const loadCertificate = () => import("./certificate/client-certificate.js");

/** A credential built by `create`, or the SDK's constructor error as core's token-source error. */
function construct(create: () => TokenCredential): Result<TokenCredential, TokenSourceError> {
  try {
    return ok(create());
  } catch (error) {
    return err(identityErrorToTokenSourceError(error));
  }
}

/** A failed lazy load as core's token-source error (a broken installation, not a refusal). */
function loadFailure(what: string, error: unknown): TokenSourceError {
  return { kind: "unavailable", message: `cannot load ${what}: ${error instanceof Error ? error.message : String(error)}` };
}

type IdentityModule = Awaited<ReturnType<typeof loadIdentity>>;

/** `build`'s credential from `@azure/identity`, loaded on first use; a failed load is `unavailable`. */
async function fromIdentityModule(build: (identity: IdentityModule) => Result<TokenCredential, TokenSourceError>): Promise<Result<TokenCredential, TokenSourceError>> {
  let identity: IdentityModule;
  try {
    identity = await loadIdentity();
  } catch (error) {
    return err(loadFailure("@azure/identity", error));
  }
  return build(identity);
}

/** The service-principal-secret variant of core's token request (what {@link AzureTokenSource.acquireMultiTenant} takes). */
export type SecretRequest = Extract<TokenSourceRequest, { readonly kind: "servicePrincipalSecret" }>;
type CertificateRequest = Extract<TokenSourceRequest, { readonly kind: "servicePrincipalCertificate" }>;
type FederatedRequest = Extract<TokenSourceRequest, { readonly kind: "federated" }>;

/** Retries of `@azure/identity`'s own pipeline towards AAD. */
export interface AadRetryOptions {
  readonly maxRetries?: number;
  readonly retryDelayInMs?: number;
  readonly maxRetryDelayInMs?: number;
}

/** Options of {@link AzureTokenSource}. */
export interface AzureTokenSourceOptions {
  /** The IMDS client for type 0 and node identities, or options to create one (endpoint, timeout). */
  readonly imds?: ImdsClient | ImdsClientOptions;
  /**
   * Authority host used when a request's `authorityHost` is `""` (the AzureIdentity has no `adEndpoint`):
   * the cloud's, from the cloud configuration. Default: the public cloud's.
   */
  readonly defaultAuthorityHost?: string;
  /**
   * AAD retries inside `@azure/identity` (default 2 retries, 0.5–4 s): NMI answers a waiting pod, so a
   * long in-call backoff helps nobody; the pod's SDK retries NMI's 503.
   */
  readonly aadRetry?: AadRetryOptions;
  /** Send the certificate chain (`x5c`) in client assertions, for subject-name/issuer authentication (default false, as the original). */
  readonly sendCertificateChain?: boolean;
  /**
   * Federated exchanges (type 3): how long to keep retrying Entra ID's AADSTS70021/700213 ("no matching
   * federated identity record": a credential MIC just wrote has not propagated yet) within one request, and
   * the back-off between tries (doubling from `initialDelayMs` up to `maxDelayMs`). Default 10 s, 0.5–4 s.
   */
  readonly federatedPropagationRetry?: FederatedPropagationRetry;
  /** Credential objects kept for reuse (default 256). */
  readonly maxCachedCredentials?: number;
  /** Clock (default `Date.now`). */
  readonly now?: () => number;
}

/** Bounds of the AADSTS70021 retry of federated exchanges ({@link AzureTokenSourceOptions.federatedPropagationRetry}). */
export interface FederatedPropagationRetry {
  readonly budgetMs?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Entra ID's answers while a federated identity credential is still propagating: AADSTS70021 (no matching
 * federated identity record) and AADSTS700213 (no matching federated identity record for the presented
 * assertion's subject). Matched by code in the description, which is how AAD reports it.
 */
const FEDERATION_PROPAGATING = /\bAADSTS(70021|700213)\b/;

/** True when `error` is Entra ID saying no federated credential matches (yet). */
export function isFederationPropagating(error: TokenSourceError): boolean {
  return error.kind === "rejected" && (FEDERATION_PROPAGATING.test(error.description) || FEDERATION_PROPAGATING.test(error.error));
}

/** Resolves after `ms`, or at once when `signal` aborts (then `false`). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** One token per tenant of a multi-tenant service principal. */
export interface MultiTenantTokens {
  /** The token of the identity's own tenant (what {@link AzureTokenSource.acquire} returns). */
  readonly primary: ImdsTokenBody;
  /** Tokens of the auxiliary tenants, in the order of `auxiliaryTenantIds`. */
  readonly auxiliary: readonly { readonly tenantId: string; readonly body: ImdsTokenBody }[];
}

/** A web `AbortSignal` for a core cancellation signal (the SDK wants a real one). */
function toAbortSignal(signal: CancellationSignal | undefined): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}

/**
 * {@link TokenSourcePort} for NMI, per AzureIdentity type (the original's `pkg/auth`):
 *
 * - **type 0 and node identities** — IMDS via {@link ImdsClient} (raw IMDS JSON passed through);
 * - **type 1** — `ClientSecretCredential`. Auxiliary tenants: one token per tenant (the original's
 *   multi-tenant flow); `acquire` fails if any fails, like the original, and returns the primary token —
 *   NMI answers with a single IMDS-shaped object. Callers that need the auxiliary tokens (e.g. to send
 *   them as `x-ms-authorization-auxiliary`) use {@link AzureTokenSource.acquireMultiTenant};
 * - **type 2** — `ClientCertificateCredential` with the certificate converted from the Secret's PKCS#12
 *   (or PEM) bytes by `clientCertificatePem`;
 * - **type 3** — `ClientAssertionCredential` with the calling pod's service-account token as the assertion
 *   (docs/adr/0021-federated-identities.md), AADSTS70021/700213 retried while the credential propagates.
 *
 * The authority is the identity's `adEndpoint`, or the cloud's when empty. Instance discovery (a call to
 * login.microsoftonline.com to validate the authority) is disabled only for authorities that are not a
 * built-in cloud's (sovereign/Azure Stack clouds, fakes), where it would fail. Credential objects are
 * reused per (tenant, client, authority, secret/certificate digest) so MSAL's in-memory cache serves
 * repeated requests without calling AAD.
 */
export class AzureTokenSource implements TokenSourcePort {
  readonly #imds: ImdsClient;
  readonly #options: AzureTokenSourceOptions;
  readonly #credentials: CredentialCache<Promise<Result<TokenCredential, TokenSourceError>>>;
  readonly #now: () => number;

  /** Creates a token source. */
  constructor(options: AzureTokenSourceOptions = {}) {
    this.#options = options;
    this.#imds = options.imds instanceof ImdsClient ? options.imds : new ImdsClient(options.imds ?? {});
    this.#credentials = new CredentialCache(options.maxCachedCredentials);
    this.#now = options.now ?? Date.now;
  }

  /** Obtains a token in IMDS's shape for the request's identity. */
  async acquire(request: TokenSourceRequest, signal?: CancellationSignal): Promise<Result<ImdsTokenBody, TokenSourceError>> {
    switch (request.kind) {
      case "managedIdentity":
        return this.#imds.token(request, signal);
      case "servicePrincipalSecret": {
        const tokens = await this.acquireMultiTenant(request, signal);
        return tokens.ok ? ok(tokens.value.primary) : tokens;
      }
      case "servicePrincipalCertificate":
        return this.#viaCredential(this.#certificateCredential(request), request.tenantId, request, signal);
      case "federated":
        return this.#federated(request, signal);
    }
  }

  /**
   * Type 3: the pod's service-account token as the client assertion (`ClientAssertionCredential`). While Entra
   * ID answers AADSTS70021/700213 the exchange is retried with doubling back-off, within
   * {@link FederatedPropagationRetry.budgetMs} and never past the request's cancellation; if it still answers so,
   * the result is `unavailable` (a 503 the pod's SDK retries), not a refusal NMI would replay from its cache.
   */
  async #federated(request: FederatedRequest, signal: CancellationSignal | undefined): Promise<Result<ImdsTokenBody, TokenSourceError>> {
    const retry = this.#options.federatedPropagationRetry ?? {};
    const budgetMs = retry.budgetMs ?? 10_000;
    const maxDelayMs = retry.maxDelayMs ?? 4_000;
    let delayMs = retry.initialDelayMs ?? 500;
    const started = this.#now();
    const abortSignal = toAbortSignal(signal);
    for (;;) {
      const result = await this.#viaCredential(this.#federatedCredential(request), request.tenantId, request, signal);
      if (result.ok || !isFederationPropagating(result.error)) return result;
      const description = result.error.kind === "rejected" ? result.error.description : "";
      const elapsed = this.#now() - started;
      if (elapsed + delayMs > budgetMs || !(await pause(delayMs, abortSignal))) {
        return err({ kind: "unavailable", message: `the identity's federated credential is not usable yet (still propagating?): ${description}` });
      }
      delayMs = Math.min(maxDelayMs, delayMs * 2);
    }
  }

  /** Type 1 with its auxiliary tenants: the primary token and one per auxiliary tenant. */
  async acquireMultiTenant(request: SecretRequest, signal?: CancellationSignal): Promise<Result<MultiTenantTokens, TokenSourceError>> {
    const credential = this.#secretCredential(request);
    const tenants = [request.tenantId, ...request.auxiliaryTenantIds.filter((t) => t !== request.tenantId)];
    const results = await Promise.all(tenants.map((tenantId) => this.#viaCredential(credential, tenantId, request, signal)));
    const failure = results.find((r) => !r.ok);
    if (failure !== undefined && !failure.ok) return failure;
    const bodies = results.flatMap((r) => (r.ok ? [r.value] : []));
    const [primary, ...auxiliary] = bodies;
    if (primary === undefined) return err({ kind: "unavailable", message: "no token" });
    return ok({ primary, auxiliary: auxiliary.map((body, i) => ({ tenantId: tenants[i + 1] ?? "", body })) });
  }

  async #viaCredential(
    pending: Promise<Result<TokenCredential, TokenSourceError>>,
    tenantId: string,
    request: SecretRequest | CertificateRequest | FederatedRequest,
    signal: CancellationSignal | undefined,
  ): Promise<Result<ImdsTokenBody, TokenSourceError>> {
    const credential = await pending;
    if (!credential.ok) return credential;
    const abortSignal = toAbortSignal(signal);
    let token: AccessToken | null;
    try {
      token = await credential.value.getToken(resourceToScope(request.resource), {
        ...(tenantId !== request.tenantId ? { tenantId } : {}),
        ...(abortSignal !== undefined ? { abortSignal } : {}),
      });
    } catch (e) {
      return err(identityErrorToTokenSourceError(e));
    }
    if (token === null) return err({ kind: "unavailable", message: "the credential returned no token" });
    const body = accessTokenBody(token, { resource: request.resource, clientId: request.clientId, nowMs: this.#now() });
    return body.ok ? body : err({ kind: "unavailable", message: `unusable token: ${body.error.reason}` });
  }

  #authority(requested: string): { authorityHost: string; disableInstanceDiscovery: boolean } {
    const host = (requested.trim() === "" ? (this.#options.defaultAuthorityHost ?? KNOWN_CLOUDS["AzurePublicCloud"]?.activeDirectoryAuthorityHost ?? "") : requested.trim()).replace(/\/+$/, "");
    return { authorityHost: host, disableInstanceDiscovery: !isKnownAuthorityHost(host) };
  }

  #commonOptions(authorityHost: string) {
    const { authorityHost: host, disableInstanceDiscovery } = this.#authority(authorityHost);
    return {
      authorityHost: host,
      disableInstanceDiscovery,
      retryOptions: { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 4_000, ...this.#options.aadRetry },
    };
  }

  #secretCredential(request: SecretRequest): Promise<Result<TokenCredential, TokenSourceError>> {
    const options = this.#commonOptions(request.authorityHost);
    const aux = [...new Set(request.auxiliaryTenantIds)].sort();
    const key = credentialKey(["secret", request.tenantId, request.clientId, options.authorityHost, ...aux], [request.secret]);
    return this.#credentials.getOrCreate(key, () =>
      fromIdentityModule((identity) =>
        // The SDK validates its options in the constructor (e.g. an `http://` authority): a refusal, not a crash.
        construct(() =>
          new identity.ClientSecretCredential(request.tenantId, request.clientId, request.secret, {
            ...options,
            ...(aux.length > 0 ? { additionallyAllowedTenants: aux } : {}),
          }),
        ),
      ),
    );
  }

  /**
   * The credential of a federated request. Keyed by the assertion too (as a digest): MSAL's in-memory cache
   * lives in the credential, and a token obtained with one service account's assertion must never be served
   * for another's.
   */
  #federatedCredential(request: FederatedRequest): Promise<Result<TokenCredential, TokenSourceError>> {
    const options = this.#commonOptions(request.authorityHost);
    const key = credentialKey(["federated", request.tenantId, request.clientId, options.authorityHost], [request.assertion]);
    const assertion = request.assertion;
    return this.#credentials.getOrCreate(key, () =>
      fromIdentityModule((identity) => construct(() => new identity.ClientAssertionCredential(request.tenantId, request.clientId, () => Promise.resolve(assertion), options))),
    );
  }

  #certificateCredential(request: CertificateRequest): Promise<Result<TokenCredential, TokenSourceError>> {
    const options = this.#commonOptions(request.authorityHost);
    const key = credentialKey(["certificate", request.tenantId, request.clientId, options.authorityHost], [request.certificate, request.password]);
    return this.#credentials.getOrCreate(key, async () => {
      let modules: [IdentityModule, Awaited<ReturnType<typeof loadCertificate>>];
      try {
        modules = await Promise.all([loadIdentity(), loadCertificate()]);
      } catch (error) {
        return err(loadFailure("@azure/identity or the certificate reader", error));
      }
      const [identity, { clientCertificatePem, describeClientCertificateError }] = modules;
      const pem = clientCertificatePem(request.certificate, request.password);
      if (!pem.ok) {
        // No HTTP exchange happened (status 0): the Secret itself is unusable, so retrying will not help.
        return err({ kind: "rejected", status: 0, error: "invalid_client_certificate", description: describeClientCertificateError(pem.error) });
      }
      return construct(() =>
        new identity.ClientCertificateCredential(request.tenantId, request.clientId, { certificate: pem.value.pem }, {
          ...options,
          sendCertificateChain: this.#options.sendCertificateChain ?? false,
        }),
      );
    });
  }
}
