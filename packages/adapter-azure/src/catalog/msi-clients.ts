import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import type { TokenCredential } from "@azure/core-auth";
import { armPipelineOptions, type ArmClientSettings } from "../compute/arm-client-settings.js";

/**
 * One `@azure/arm-msi` client per subscription (ids compared in any case), created on first use with the cloud's
 * ARM settings; shared by the identity catalogue and the federated-credential adapter so both build their clients
 * the same way. `credentialScopes` is always set from the cloud configuration: arm-msi otherwise derives the token
 * scope from its endpoint, which is wrong for any endpoint but the public one.
 */
export class MsiClients {
  readonly #credential: TokenCredential;
  readonly #settings: ArmClientSettings;
  readonly #clients = new Map<string, ManagedServiceIdentityClient>();

  /** @param settings where ARM is, its token scope, retries and user agent. */
  constructor(credential: TokenCredential, settings: ArmClientSettings) {
    this.#credential = credential;
    this.#settings = settings;
  }

  /** The client of `subscriptionId`, created the first time it is asked for. */
  forSubscription(subscriptionId: string): ManagedServiceIdentityClient {
    const key = subscriptionId.toLowerCase();
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = new ManagedServiceIdentityClient(this.#credential, subscriptionId, {
        endpoint: this.#settings.endpoint,
        $host: this.#settings.endpoint,
        credentialScopes: [this.#settings.scope],
        ...armPipelineOptions(this.#settings),
      });
      this.#clients.set(key, client);
    }
    return client;
  }
}
