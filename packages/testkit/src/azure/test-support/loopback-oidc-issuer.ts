import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import type { Server } from "node:https";
import { TestCertificateAuthority } from "../../tls/test-certificate-authority.js";
import { closeServer, createTlsServer, listen, sendJson } from "../http-kit.js";

/** Claims of a token minted by {@link LoopbackOidcIssuer.mint}; `iss` defaults to the issuer. */
export interface MintClaims {
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly iss?: string;
  /** Unix seconds; defaults: `iat` = `nbf` = now, `exp` = now + 3600. */
  readonly iat?: number;
  readonly nbf?: number;
  readonly exp?: number;
  readonly [claim: string]: unknown;
}

/** How to sign: another key (a forged token), another `kid`, another `alg` header. */
export interface MintOptions {
  readonly key?: KeyObject;
  readonly kid?: string;
  readonly alg?: string;
}

/**
 * A minimal OIDC issuer over HTTPS on loopback (certificate from the run CA), standing in for a cluster's
 * service-account issuer in tests of the fake AAD: `/.well-known/openid-configuration` and the JWKS at
 * `/openid/v1/jwks` (RSA keys by `kid`), and RS256 tokens signed with its key. Counts requests so tests can
 * prove the fake AAD caches; `failDiscovery` makes it answer 500.
 */
export class LoopbackOidcIssuer {
  readonly #server: Server;
  readonly #keys: { kid: string; privateKey: KeyObject; publicKey: KeyObject }[] = [];
  #port = 0;
  #failing = false;
  discoveryRequests = 0;
  jwksRequests = 0;

  private constructor(server: Server) {
    this.#server = server;
    this.addKey("key-1");
  }

  /** Starts listening on 127.0.0.1 with a certificate from the run CA. */
  static async start(ca: TestCertificateAuthority = TestCertificateAuthority.fromEnvironment()): Promise<LoopbackOidcIssuer> {
    let instance: LoopbackOidcIssuer | undefined;
    const server = await createTlsServer("127.0.0.1", ca, (req, res) => {
      if (instance === undefined) return;
      const path = new URL(req.url ?? "/", "https://127.0.0.1").pathname;
      if (instance.#failing) {
        sendJson(res, 500, { error: "unavailable" });
      } else if (path === "/.well-known/openid-configuration") {
        instance.discoveryRequests++;
        sendJson(res, 200, {
          issuer: instance.url,
          jwks_uri: `${instance.url}/openid/v1/jwks`,
          response_types_supported: ["id_token"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
        });
      } else if (path === "/openid/v1/jwks") {
        instance.jwksRequests++;
        sendJson(res, 200, { keys: instance.#keys.map((k) => ({ ...k.publicKey.export({ format: "jwk" }), kid: k.kid, use: "sig", alg: "RS256" })) });
      } else {
        sendJson(res, 404, { error: "not found" });
      }
    });
    instance = new LoopbackOidcIssuer(server);
    instance.#port = await listen(server, "127.0.0.1", 0);
    return instance;
  }

  /** The issuer URL (no trailing slash), as tokens carry it in `iss`. */
  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  /** Adds a signing key (rotation); later mints use the newest key. */
  addKey(kid: string): void {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.#keys.push({ kid, privateKey, publicKey });
  }

  /** Makes every request answer 500 (an unreachable issuer) until called with `false`. */
  failDiscovery(failing = true): void {
    this.#failing = failing;
  }

  /** An RS256 JWT with `claims`, signed by the newest key unless `options` say otherwise. */
  mint(claims: MintClaims, options: MintOptions = {}): string {
    const signer = this.#keys[this.#keys.length - 1];
    if (signer === undefined) throw new Error("LoopbackOidcIssuer: no key");
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: this.url, iat: now, nbf: now, exp: now + 3600, ...claims };
    const header = { alg: options.alg ?? "RS256", kid: options.kid ?? signer.kid, typ: "JWT" };
    const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    const signature = sign("sha256", Buffer.from(input), options.key ?? signer.privateKey).toString("base64url");
    return `${input}.${signature}`;
  }

  /** Stops listening. */
  async close(): Promise<void> {
    await closeServer(this.#server);
  }
}
