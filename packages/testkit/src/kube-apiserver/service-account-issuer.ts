/**
 * The service-account token signer of the fake kube-apiserver and the OIDC discovery documents that publish
 * its key, the way a real API server with `--service-account-issuer` and `--service-account-signing-key-file`
 * does: RS256 JWTs whose header names the key (`kid`, the base64url SHA-256 of the DER public key, as
 * kube-apiserver computes it), `/.well-known/openid-configuration` and the JWKS at `/openid/v1/jwks`.
 * Entra ID (and the fake AAD) verify federated assertions against exactly these two documents.
 * @packageDocumentation
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, sign, type KeyObject } from "node:crypto";
import type { JsonObject } from "./json.js";

/** Where discovery clients find the JWKS on the API server (kube-apiserver's fixed path). */
export const JWKS_PATH = "/openid/v1/jwks";
/** The OIDC discovery document's path, relative to the issuer. */
export const OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration";

/** One key of a JSON Web Key Set as kube-apiserver publishes it (RSA public key, signing use). */
export interface ServiceAccountJwk {
  readonly kty: "RSA";
  readonly kid: string;
  readonly use: "sig";
  readonly alg: "RS256";
  readonly n: string;
  readonly e: string;
}

/** The OIDC discovery document kube-apiserver serves. */
export interface OpenIdConfiguration {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly response_types_supported: readonly string[];
  readonly subject_types_supported: readonly string[];
  readonly id_token_signing_alg_values_supported: readonly string[];
}

function base64Url(bytes: Buffer | string): string {
  return Buffer.from(bytes).toString("base64url");
}

/** The key id kube-apiserver gives a public key: base64url (no padding) of SHA-256 over its DER SubjectPublicKeyInfo. */
export function keyIdOf(publicKey: KeyObject): string {
  return base64Url(createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest());
}

/** A signing key pair with its key id. */
interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
}

function toSigningKey(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== "rsa") {
    throw new Error(`service-account signing key must be RSA (RS256 is the only algorithm Entra ID accepts), got ${privateKey.asymmetricKeyType ?? "unknown"}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, kid: keyIdOf(publicKey) };
}

function generateRsaKey(): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    generateKeyPair("rsa", { modulusLength: 2048 }, (error, _publicKey, privateKey) => (error === null ? resolve(privateKey) : reject(error)));
  });
}

/**
 * Signs service-account JWTs with one RSA key. The key is generated on first use (2048-bit, a fresh one per
 * server, so servers that never issue a token do not pay for it) unless a PEM key was injected for
 * deterministic key ids.
 */
export class ServiceAccountTokenSigner {
  readonly #injected: KeyObject | undefined;
  #key: Promise<SigningKey> | undefined;

  /** @param privateKeyPem an RSA private key (PKCS#1 or PKCS#8 PEM); default: generated on first use. */
  constructor(privateKeyPem?: string | KeyObject) {
    this.#injected = privateKeyPem === undefined ? undefined : typeof privateKeyPem === "string" ? createPrivateKey(privateKeyPem) : privateKeyPem;
    if (this.#injected !== undefined) this.#key = Promise.resolve(toSigningKey(this.#injected));
  }

  #signingKey(): Promise<SigningKey> {
    this.#key ??= generateRsaKey().then(toSigningKey);
    return this.#key;
  }

  /** The key id tokens carry in their header. */
  async keyId(): Promise<string> {
    return (await this.#signingKey()).kid;
  }

  /** `header.payload.signature` with `{"alg":"RS256","kid":…}` (no `typ`, like kube-apiserver's go-jose signer). */
  async sign(claims: JsonObject): Promise<string> {
    const key = await this.#signingKey();
    const signingInput = `${base64Url(JSON.stringify({ alg: "RS256", kid: key.kid }))}.${base64Url(JSON.stringify(claims))}`;
    const signature = sign("sha256", Buffer.from(signingInput), key.privateKey);
    return `${signingInput}.${base64Url(signature)}`;
  }

  /** The JWKS document (`{"keys":[…]}`) holding the public key. */
  async jwks(): Promise<{ readonly keys: readonly ServiceAccountJwk[] }> {
    const key = await this.#signingKey();
    const jwk = key.publicKey.export({ format: "jwk" });
    if (typeof jwk.n !== "string" || typeof jwk.e !== "string") throw new Error("RSA public key exported without n/e");
    return { keys: [{ use: "sig", kty: "RSA", kid: key.kid, alg: "RS256", n: jwk.n, e: jwk.e }] };
  }
}

/** The discovery document for `issuer` with its JWKS at `jwksUri`. */
export function openIdConfiguration(issuer: string, jwksUri: string): OpenIdConfiguration {
  return {
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
  };
}
