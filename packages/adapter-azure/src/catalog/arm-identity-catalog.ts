import type { TokenCredential } from "@azure/core-auth";
import {
  classifyArmError,
  err,
  ok,
  parseUserAssignedIdentityId,
  type CatalogError,
  type CatalogIdentity,
  type ComputeError,
  type IdentityCatalogPort,
  type Result,
} from "@podid/core";
import { armFailureOf } from "../compute/arm-failure.js";
import type { ArmClientSettings } from "../compute/arm-client-settings.js";
import { MsiClients } from "./msi-clients.js";

/** Options of {@link ArmIdentityCatalog}. */
export interface ArmIdentityCatalogOptions extends ArmClientSettings {
  readonly credential: TokenCredential;
  /** Clock for Retry-After dates and the gate (default `Date.now`). */
  readonly now?: () => number;
}

/** Core's classification of an ARM failure, narrowed to what a catalogue lookup can mean. */
export function toCatalogError(error: ComputeError): CatalogError {
  switch (error.kind) {
    case "throttled":
      return { kind: "throttled", retryAfterMs: error.retryAfterMs, message: error.message };
    case "notFound":
      return { kind: "notFound", message: error.message };
    case "forbidden":
    case "forbiddenIdentities":
      return { kind: "forbidden", message: error.message };
    default:
      return { kind: "transient", message: error.message };
  }
}

/**
 * {@link IdentityCatalogPort} on `@azure/arm-msi`: looks up a user-assigned identity by its ARM id and
 * reports its client, principal and tenant ids, so MIC can validate an AzureIdentity before assigning it.
 *
 * `credentialScopes` is always set from the cloud configuration: arm-msi otherwise derives the token scope
 * from its endpoint, which is wrong for any endpoint but the public one. A 429 closes a per-subscription
 * gate for its Retry-After (further lookups fail fast with `throttled`), as for compute calls; the SDK
 * never retries 429 itself.
 */
export class ArmIdentityCatalog implements IdentityCatalogPort {
  readonly #clients: MsiClients;
  readonly #gates = new Map<string, number>();
  readonly #now: () => number;

  /** Creates the catalogue; SDK clients are created per subscription on first use. */
  constructor(options: ArmIdentityCatalogOptions) {
    this.#clients = new MsiClients(options.credential, options);
    this.#now = options.now ?? Date.now;
  }

  /** Reads one identity by its ARM id (any case). An id that is not a user-assigned identity id is `notFound`. */
  async getUserAssignedIdentity(resourceId: string): Promise<Result<CatalogIdentity, CatalogError>> {
    const parsed = parseUserAssignedIdentityId(resourceId);
    if (!parsed.ok) return err({ kind: "notFound", message: parsed.error.message });
    const { subscriptionId, resourceGroup, name } = parsed.value;
    const gateKey = subscriptionId.toLowerCase();
    const opensAt = this.#gates.get(gateKey) ?? 0;
    const now = this.#now();
    if (opensAt > now) {
      return err({ kind: "throttled", retryAfterMs: opensAt - now, message: `identity lookups throttled until ${new Date(opensAt).toISOString()}` });
    }
    try {
      const identity = await this.#clients.forSubscription(subscriptionId).userAssignedIdentities.get(resourceGroup, name);
      return ok({
        id: identity.id ?? resourceId,
        clientId: identity.clientId ?? "",
        principalId: identity.principalId ?? "",
        tenantId: identity.tenantId ?? "",
      });
    } catch (e) {
      const error = toCatalogError(classifyArmError(armFailureOf(e), this.#now()));
      if (error.kind === "throttled") this.#gates.set(gateKey, Math.max(opensAt, this.#now() + error.retryAfterMs));
      return err(error);
    }
  }
}
