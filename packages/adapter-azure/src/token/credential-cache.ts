import { createHash } from "node:crypto";

/**
 * A bounded least-recently-used map of credential objects. `@azure/identity` credentials keep MSAL's
 * in-memory token cache, so reusing the same object for the same (tenant, client, secret) lets MSAL serve
 * repeated requests without calling AAD; creating one per request, as a naive port would, defeats that.
 * The bound keeps memory flat when secrets rotate (old entries fall out).
 */
export class CredentialCache<T> {
  readonly #entries = new Map<string, T>();
  readonly #max: number;

  /** @param max - entries kept (at least 1). */
  constructor(max = 256) {
    this.#max = Math.max(1, Math.floor(max));
  }

  /** The entry for `key`, created with `create` when absent; marks it most recently used. */
  getOrCreate(key: string, create: () => T): T {
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, existing);
      return existing;
    }
    const created = create();
    this.#entries.set(key, created);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return created;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * A cache key made of `parts`; secret parts (client secrets, certificate bytes, passwords) enter only as a
 * SHA-256 digest, so the key itself never holds a secret.
 */
export function credentialKey(parts: readonly string[], secrets: readonly (string | Uint8Array)[]): string {
  const hash = createHash("sha256");
  for (const secret of secrets) {
    const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
    hash.update(String(bytes.length)).update(":").update(bytes);
  }
  return JSON.stringify([...parts, hash.digest("hex")]);
}
