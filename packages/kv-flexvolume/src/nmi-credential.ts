/**
 * The token NMI issued, as the `TokenCredential` the Azure SDK's Key Vault clients take. One mount uses one
 * token (as the original did), so there is nothing to refresh; the credential only refuses to hand the token to a
 * vault that asks for a token of another resource.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type { NmiToken } from "./nmi-token.js";

/** `https://vault.azure.net/.default` and `https://vault.azure.net/` both name `https://vault.azure.net`. */
export function resourceOfScope(scope: string): string {
  return scope.replace(/\/\.default$/, "").replace(/\/+$/, "");
}

/** A credential that answers every Key Vault token request with the one NMI token. */
export class NmiTokenCredential implements TokenCredential {
  readonly #token: NmiToken;
  readonly #resource: string;

  /** `resource` is what NMI was asked for (the cloud's Key Vault resource). */
  constructor(token: NmiToken, resource: string) {
    this.#token = token;
    this.#resource = resourceOfScope(resource);
  }

  /** Returns the NMI token when the scopes ask for the resource it was issued for. */
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const wanted = (Array.isArray(scopes) ? scopes : [scopes]).map(resourceOfScope);
    const other = wanted.find((resource) => resource !== this.#resource);
    if (other !== undefined) throw new Error(`the vault asked for a token for ${other}, but NMI issued the pod's token for ${this.#resource} (check "cloudname")`);
    return { token: this.#token.accessToken, expiresOnTimestamp: this.#token.expiresOnMs, tokenType: "Bearer" };
  }
}
