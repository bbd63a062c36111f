import { err, ok, type CatalogIdentity, type Result } from "@podid/core";
import type { FakeFederatedCredential } from "./fake-federated-credentials.js";
import type { FakeIdentityCatalog } from "./fake-identity-catalog.js";
import { base64UrlDecode } from "./fake-jwt.js";

/** Why Entra ID (the fakes) refused a federated exchange. */
export type FederatedExchangeRefusalReason =
  | "malformed"
  | "unsupportedAlgorithm"
  | "unknownClient"
  | "noMatchingCredential"
  | "outsideValidity"
  | "issuerUnreachable"
  | "keyNotFound"
  | "badSignature";

/** A refusal in AAD's terms: OAuth `error`, HTTP status, `AADSTS` code and the description text. */
export interface FederatedRefusal {
  readonly reason: FederatedExchangeRefusalReason;
  readonly error: "invalid_request" | "invalid_client" | "unauthorized_client";
  readonly status: 400 | 401;
  readonly code: number;
  /** `AADSTS<code>: …`, as AAD's `error_description` starts. */
  readonly description: string;
}

/** The parts of a JWT-bearer assertion the exchange reads. */
export interface DecodedAssertion {
  readonly header: Readonly<Record<string, unknown>>;
  readonly issuer: string;
  readonly subject: string;
  /** `aud`, a string or an array in the token, always an array here. */
  readonly audiences: readonly string[];
  readonly exp?: number;
  readonly nbf?: number;
  /** `header.payload`, the bytes the signature covers. */
  readonly signingInput: string;
  /** The signature part, base64url. */
  readonly signature: string;
}

/** What a successful check found: the identity and the credential that trusts the assertion. */
export interface FederatedMatch {
  readonly identity: CatalogIdentity;
  readonly credential: FakeFederatedCredential;
}

const DETAILS: Record<FederatedExchangeRefusalReason, Pick<FederatedRefusal, "error" | "status" | "code">> = {
  malformed: { error: "invalid_request", status: 400, code: 50027 },
  unsupportedAlgorithm: { error: "invalid_client", status: 401, code: 5002738 },
  unknownClient: { error: "unauthorized_client", status: 400, code: 700016 },
  noMatchingCredential: { error: "invalid_request", status: 400, code: 70021 },
  outsideValidity: { error: "invalid_client", status: 401, code: 700024 },
  issuerUnreachable: { error: "invalid_client", status: 401, code: 50166 },
  keyNotFound: { error: "invalid_client", status: 401, code: 50013 },
  badSignature: { error: "invalid_client", status: 401, code: 50013 },
};

/** Builds the refusal AAD gives for `reason`, with `text` after the `AADSTSnnn: ` prefix. */
export function federatedRefusal(reason: FederatedExchangeRefusalReason, text: string): FederatedRefusal {
  const details = DETAILS[reason];
  return { reason, ...details, description: `AADSTS${details.code}: ${text}` };
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(base64UrlDecode(part))) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads a JWT-bearer assertion (a Kubernetes service-account token): three base64url parts, JSON header and
 * payload, string `iss` and `sub`, `aud` a string or an array of strings. The signature is not checked here.
 */
export function decodeAssertion(jwt: string): Result<DecodedAssertion, FederatedRefusal> {
  const malformed = federatedRefusal("malformed", "JWT token is invalid or malformed.");
  const parts = jwt.split(".");
  if (parts.length !== 3) return err(malformed);
  const [h, p, signature] = parts as [string, string, string];
  const header = decodeJson(h);
  const payload = decodeJson(p);
  if (header === undefined || payload === undefined) return err(malformed);
  const { iss, sub, aud, exp, nbf } = payload;
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === "string") ? (aud as string[]) : undefined;
  if (typeof iss !== "string" || typeof sub !== "string" || audiences === undefined) return err(malformed);
  return ok({
    header,
    issuer: iss,
    subject: sub,
    audiences,
    ...(typeof exp === "number" ? { exp } : {}),
    ...(typeof nbf === "number" ? { nbf } : {}),
    signingInput: `${h}.${p}`,
    signature,
  });
}

/** Inputs of {@link checkFederatedAssertion}. */
export interface FederatedCheckInput {
  /** The tenant in the token endpoint's path. */
  readonly tenantId: string;
  /** The `client_id` form parameter: a user-assigned identity's client id. */
  readonly clientId: string;
  readonly assertion: DecodedAssertion;
  /** The identities and their federated credentials. */
  readonly catalog: FakeIdentityCatalog | undefined;
  /** Unix seconds now. */
  readonly nowSeconds: number;
  /** Clock skew tolerated on `nbf`/`exp`. */
  readonly skewSeconds: number;
}

/**
 * Entra ID's claim checks of a federated exchange, without the signature: the client id names a
 * user-assigned identity of this tenant (else AADSTS700016), one of its federated credentials that has
 * propagated matches the assertion's issuer and subject exactly and its audience is among the assertion's
 * (else AADSTS70021, naming the assertion's issuer, subject and audience), and the assertion is within its
 * validity window (else AADSTS700024). The fake AAD adds discovery, JWKS and signature checks on top.
 */
export function checkFederatedAssertion(input: FederatedCheckInput): Result<FederatedMatch, FederatedRefusal> {
  const { assertion, clientId, tenantId } = input;
  const identity = input.catalog?.findByClientId(clientId);
  if (identity === undefined || identity.tenantId.toLowerCase() !== tenantId.toLowerCase()) {
    return err(
      federatedRefusal(
        "unknownClient",
        `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      ),
    );
  }
  const credential = input.catalog?.federatedCredentials.findVisibleMatch(identity.id, assertion);
  if (credential === undefined) {
    return err(
      federatedRefusal(
        "noMatchingCredential",
        `No matching federated identity record found for presented assertion. Assertion Issuer: '${assertion.issuer}'. ` +
          `Assertion Subject: '${assertion.subject}'. Assertion Audience: '${assertion.audiences.join(",")}'.`,
      ),
    );
  }
  const { exp, nbf } = assertion;
  const now = input.nowSeconds;
  if (exp === undefined || exp + input.skewSeconds < now || (nbf !== undefined && nbf - input.skewSeconds > now)) {
    const at = (seconds: number | undefined): string => (seconds === undefined ? "(none)" : new Date(seconds * 1000).toISOString());
    return err(
      federatedRefusal(
        "outsideValidity",
        `Client assertion is not within its valid time range. Current time: ${at(now)}, assertion valid from ${at(nbf)}, expiry time of assertion ${at(exp)}.`,
      ),
    );
  }
  return ok({ identity, credential });
}
