import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { request } from "node:https";
import { rootCertificates } from "node:tls";
import { err, ok, type Result } from "@podid/core";

/** Options of {@link OidcIssuerKeys}. */
export interface OidcIssuerKeysOptions {
  /** PEM CA certificates trusted for issuers besides Node's built-in roots (e.g. the run's test CA). */
  readonly trustedCas: readonly string[];
  /** How long discovery and JWKS answers are reused (an unknown `kid` always refetches once). */
  readonly cacheTtlMs: number;
  /** Time allowed for each HTTPS request. */
  readonly timeoutMs: number;
  /** Milliseconds now (the cache's clock). */
  readonly now: () => number;
}

/** Why a key could not be had: the issuer could not be read, or it has no such key. */
export type IssuerKeyError = { readonly kind: "unreachable"; readonly detail: string } | { readonly kind: "keyNotFound"; readonly detail: string };

interface Entry {
  readonly fetchedAtMs: number;
  readonly keys: ReadonlyMap<string, KeyObject>;
}

/** Largest discovery or JWKS document read (real ones are a few KiB). */
const MAX_DOCUMENT_BYTES = 256 * 1024;

/**
 * Fetches an OIDC issuer's signing keys the way Entra ID does for federated credentials:
 * `<issuer>/.well-known/openid-configuration` over HTTPS, its `issuer` equal to the token's, then its
 * `jwks_uri` (HTTPS), keeping RSA keys by `kid`. Answers are cached per issuer for `cacheTtlMs`; a `kid`
 * not in the cached set triggers one refetch (key rotation). Concurrent fetches for one issuer share one
 * request pair; failures are not cached.
 */
export class OidcIssuerKeys {
  readonly #options: OidcIssuerKeysOptions;
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<Result<Entry, IssuerKeyError>>>();
  readonly #ca: string[];
  #documentFetches = 0;

  /** Creates an empty cache. */
  constructor(options: OidcIssuerKeysOptions) {
    this.#options = options;
    this.#ca = [...rootCertificates, ...options.trustedCas];
  }

  /** HTTPS documents fetched so far (discovery and JWKS each count one): proof of caching for tests. */
  get documentFetches(): number {
    return this.#documentFetches;
  }

  /** Forgets every cached issuer. */
  clear(): void {
    this.#cache.clear();
  }

  /** The public key `kid` of `issuer`, from the cache or freshly fetched. */
  async key(issuer: string, kid: string): Promise<Result<KeyObject, IssuerKeyError>> {
    const cached = this.#cache.get(issuer);
    const fresh = cached !== undefined && this.#options.now() - cached.fetchedAtMs < this.#options.cacheTtlMs;
    if (fresh) {
      const key = cached.keys.get(kid);
      if (key !== undefined) return ok(key);
    }
    const fetched = await this.#fetchShared(issuer);
    if (!fetched.ok) return fetched;
    const key = fetched.value.keys.get(kid);
    if (key === undefined) return err({ kind: "keyNotFound", detail: `the issuer's JWKS has no key with kid '${kid}'` });
    return ok(key);
  }

  #fetchShared(issuer: string): Promise<Result<Entry, IssuerKeyError>> {
    const running = this.#inFlight.get(issuer);
    if (running !== undefined) return running;
    const started = this.#fetch(issuer).finally(() => this.#inFlight.delete(issuer));
    this.#inFlight.set(issuer, started);
    return started;
  }

  async #fetch(issuer: string): Promise<Result<Entry, IssuerKeyError>> {
    const unreachable = (detail: string): Result<never, IssuerKeyError> => err({ kind: "unreachable", detail });
    const base = httpsUrl(issuer);
    if (base === undefined) return unreachable(`the issuer '${issuer}' is not an https URL`);
    const discoveryUrl = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    const discovery = await this.#getJson(discoveryUrl);
    if (!discovery.ok) return unreachable(`${discoveryUrl}: ${discovery.error}`);
    const doc = discovery.value as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== issuer) return unreachable(`${discoveryUrl} names the issuer '${String(doc.issuer)}', not '${issuer}'`);
    if (typeof doc.jwks_uri !== "string" || httpsUrl(doc.jwks_uri) === undefined) return unreachable(`${discoveryUrl} has no https jwks_uri`);
    const jwks = await this.#getJson(doc.jwks_uri);
    if (!jwks.ok) return unreachable(`${doc.jwks_uri}: ${jwks.error}`);
    const keys = new Map<string, KeyObject>();
    const listed = (jwks.value as { keys?: unknown }).keys;
    for (const jwk of Array.isArray(listed) ? (listed as unknown[]) : []) {
      if (typeof jwk !== "object" || jwk === null) continue;
      const { kty, kid, use } = jwk as { kty?: unknown; kid?: unknown; use?: unknown };
      if (kty !== "RSA" || typeof kid !== "string" || (use !== undefined && use !== "sig")) continue;
      try {
        keys.set(kid, createPublicKey({ key: jwk as JsonWebKey, format: "jwk" }));
      } catch {
        // A key Node cannot read is one Entra ID cannot use either: skip it like any other unusable entry.
      }
    }
    const entry: Entry = { fetchedAtMs: this.#options.now(), keys };
    this.#cache.set(issuer, entry);
    return ok(entry);
  }

  #getJson(url: string): Promise<Result<unknown, string>> {
    this.#documentFetches++;
    return new Promise((resolve) => {
      let settled = false;
      const done = (result: Result<unknown, string>): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const req = request(url, { method: "GET", ca: this.#ca, agent: false, timeout: this.#options.timeoutMs, headers: { accept: "application/json" } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_DOCUMENT_BYTES) {
            done(err(`document larger than ${MAX_DOCUMENT_BYTES} bytes`));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on("error", (error) => done(err(error.message)));
        res.on("end", () => {
          if (res.statusCode !== 200) {
            done(err(`HTTP ${res.statusCode ?? 0}`));
            return;
          }
          try {
            done(ok(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown));
          } catch {
            done(err("not JSON"));
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.#options.timeoutMs} ms`)));
      req.on("error", (error) => done(err(error.message)));
      req.end();
    });
  }
}

function httpsUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}
