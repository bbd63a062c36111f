import { X509Certificate, constants, createHash, verify } from "node:crypto";

/** What a client assertion must satisfy, besides a valid signature. */
export interface ClientAssertionExpectations {
  /** The `client_id` form parameter: `iss` and `sub` must equal it. */
  readonly clientId: string;
  /** Accepted `aud` values (the token endpoint URLs of the tenant). */
  readonly audiences: readonly string[];
  /** The application's registered certificates (PEM). */
  readonly certificates: readonly string[];
  /** Unix seconds now. */
  readonly nowSeconds: number;
  /** Clock skew tolerated on `nbf` and `exp` (AAD tolerates 5 minutes). */
  readonly skewSeconds: number;
}

/** Why an assertion was refused, with the AADSTS code AAD uses for it. */
export interface ClientAssertionRejection {
  readonly error: "invalid_client" | "invalid_request";
  readonly status: 400 | 401;
  readonly code: number;
  readonly description: string;
}

interface Parsed {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

function parse(jwt: string): Parsed | undefined {
  const parts = jwt.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const [h, p, s] = parts as [string, string, string];
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as unknown;
    const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as unknown;
    if (typeof header !== "object" || header === null || typeof payload !== "object" || payload === null) return undefined;
    return { header: header as Record<string, unknown>, payload: payload as Record<string, unknown>, signingInput: Buffer.from(`${h}.${p}`), signature: Buffer.from(s, "base64url") };
  } catch {
    return undefined;
  }
}

function thumbprints(pem: string): { readonly x5t: string; readonly x5tS256: string; readonly cert: X509Certificate } {
  const cert = new X509Certificate(pem);
  return {
    cert,
    x5t: createHash("sha1").update(cert.raw).digest("base64url"),
    x5tS256: createHash("sha256").update(cert.raw).digest("base64url"),
  };
}

function reject(code: number, description: string, error: ClientAssertionRejection["error"] = "invalid_client", status: 400 | 401 = 401): ClientAssertionRejection {
  return { error, status, code, description: `AADSTS${code}: ${description}` };
}

/**
 * Verifies a `private_key_jwt` client assertion the way AAD does (RFC 7523 as used by MSAL): RS256 or PS256,
 * a certificate registered on the application named by `x5t#S256` or `x5t`, a signature valid for that
 * certificate's public key, `iss` = `sub` = client id, `aud` = the tenant's token endpoint, and `nbf`/`exp`
 * within the skew. Returns the matching certificate PEM, or the AADSTS rejection.
 */
export function verifyClientAssertion(jwt: string, expect: ClientAssertionExpectations): { readonly ok: true; readonly certificate: string } | { readonly ok: false; readonly rejection: ClientAssertionRejection } {
  const fail = (rejection: ClientAssertionRejection): { ok: false; rejection: ClientAssertionRejection } => ({ ok: false, rejection });
  const parsed = parse(jwt);
  if (parsed === undefined) return fail(reject(50027, "JWT token is invalid or malformed."));
  const alg = parsed.header["alg"];
  if (alg !== "RS256" && alg !== "PS256") {
    return fail(reject(5002738, `Invalid JWT token. '${String(alg)}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256, PS256'`));
  }
  const { payload } = parsed;
  if (payload["iss"] !== expect.clientId || payload["sub"] !== expect.clientId) {
    return fail(reject(700021, `Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.`));
  }
  if (typeof payload["aud"] !== "string" || !expect.audiences.includes(payload["aud"])) {
    return fail(reject(50027, `JWT token is invalid or malformed: the audience '${String(payload["aud"])}' is not this tenant's token endpoint.`));
  }
  const nbf = typeof payload["nbf"] === "number" ? payload["nbf"] : undefined;
  const exp = typeof payload["exp"] === "number" ? payload["exp"] : undefined;
  if (exp === undefined || exp + expect.skewSeconds < expect.nowSeconds || (nbf !== undefined && nbf - expect.skewSeconds > expect.nowSeconds)) {
    return fail(
      reject(
        700024,
        `Client assertion is not within its valid time range. Current time: ${new Date(expect.nowSeconds * 1000).toISOString()}, ` +
          `assertion valid from ${nbf === undefined ? "(none)" : new Date(nbf * 1000).toISOString()}, expiry time of assertion ${exp === undefined ? "(none)" : new Date(exp * 1000).toISOString()}.`,
      ),
    );
  }
  const wanted = typeof parsed.header["x5t#S256"] === "string" ? { kind: "x5tS256" as const, value: parsed.header["x5t#S256"] } : typeof parsed.header["x5t"] === "string" ? { kind: "x5t" as const, value: parsed.header["x5t"] } : undefined;
  const registered = expect.certificates.map((pem) => ({ pem, ...thumbprints(pem) }));
  const match = wanted === undefined ? undefined : registered.find((c) => c[wanted.kind] === wanted.value);
  if (match === undefined) {
    return fail(
      reject(
        700027,
        `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${wanted?.value ?? "(none)"}']`,
      ),
    );
  }
  const key = match.cert.publicKey;
  const valid =
    alg === "RS256"
      ? verify("sha256", parsed.signingInput, key, parsed.signature)
      : verify("sha256", parsed.signingInput, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, parsed.signature);
  if (!valid) return fail(reject(700027, "Client assertion failed signature validation."));
  return { ok: true, certificate: match.pem };
}
