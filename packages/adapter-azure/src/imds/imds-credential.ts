import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type { TokenSourceError } from "@podid/core";
import { ImdsClient } from "./imds-client.js";

/** The resource (AAD v1 audience) a `.default` scope stands for, as IMDS expects it. */
export function scopeToResource(scopes: string | string[]): string {
  const scope = Array.isArray(scopes) ? (scopes[0] ?? "") : scopes;
  return scope.endsWith("/.default") ? scope.slice(0, -"/.default".length) : scope;
}

/** A failed IMDS token request, carrying core's typed error. */
export class ImdsCredentialError extends Error {
  override readonly name = "ImdsCredentialError";
  /** Why IMDS did not give a token. */
  readonly failure: TokenSourceError;

  /** Wraps `failure`. */
  constructor(failure: TokenSourceError) {
    super(
      failure.kind === "rejected"
        ? `IMDS refused the token request (${failure.status} ${failure.error}): ${failure.description}`
        : failure.message,
    );
    this.failure = failure;
  }
}

/**
 * A `TokenCredential` for MIC's own ARM calls when `azure.json` says `useManagedIdentityExtension`: the
 * node's system-assigned identity, or the user-assigned identity with `clientId`. It uses podid's
 * {@link ImdsClient} rather than `ManagedIdentityCredential` so the IMDS endpoint is configurable per
 * instance (the SDK reads it from process-wide environment variables only). Tokens are cached until five
 * minutes before expiry, as the SDK's bearer policy would otherwise ask on every request.
 */
export class ImdsCredential implements TokenCredential {
  readonly #client: ImdsClient;
  readonly #clientId: string | undefined;
  readonly #now: () => number;
  readonly #cache = new Map<string, AccessToken>();

  /** `clientId` absent: the system-assigned identity. */
  constructor(client: ImdsClient, clientId?: string, now: () => number = Date.now) {
    this.#client = client;
    this.#clientId = clientId;
    this.#now = now;
  }

  /** Gets an ARM (or other) token from IMDS. */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const resource = scopeToResource(scopes);
    const cached = this.#cache.get(resource);
    if (cached !== undefined && cached.expiresOnTimestamp - 5 * 60_000 > this.#now()) return cached;
    const result = await this.#client.token(
      {
        kind: "managedIdentity",
        resource,
        ...(this.#clientId !== undefined && this.#clientId !== "" ? { selector: { by: "client_id", value: this.#clientId } } : {}),
      },
      options?.abortSignal,
    );
    if (!result.ok) throw new ImdsCredentialError(result.error);
    const token: AccessToken = {
      token: result.value.access_token,
      expiresOnTimestamp: Number(result.value.expires_on) * 1000,
      tokenType: "Bearer",
    };
    this.#cache.set(resource, token);
    return token;
  }
}
