/**
 * Key Vault's challenge authentication as the fake serves it: a request without a bearer token gets 401 with
 * `WWW-Authenticate: Bearer authorization="<authority>/<tenant>", resource="https://vault.azure.net"` (the
 * SDKs' challenge policy reads tenant and scope from it); a bearer token must be a testkit fake token
 * (`fake-jwt.ts`: what the fake IMDS and AAD issue) for the vault audience, from the vault's tenant, issued
 * by AAD's hosts, and unexpired.
 * @packageDocumentation
 */
import { decodeFakeJwt } from "../../fakes/fake-jwt.js";

/** The Key Vault resource (audience) of Azure's public cloud. */
export const KEY_VAULT_RESOURCE = "https://vault.azure.net";

/** AAD's token issuers: v2 tokens (`login.microsoftonline.com/<tenant>/v2.0`) and v1 tokens (`sts.windows.net/<tenant>/`). */
const ISSUER_HOSTS = ["login.microsoftonline.com", "sts.windows.net"];

/** The identity a verified token names. */
export interface VerifiedCaller {
  readonly appid: string;
  readonly oid: string;
}

/** Why a token was refused (each a 401). */
export interface TokenRejection {
  readonly message: string;
  /** What the token claimed to be, when it could be read: for the request log. */
  readonly appid?: string;
}

/** The `WWW-Authenticate` challenge Key Vault sends with every 401. */
export function challengeHeader(authorityHost: string, tenantId: string, resource: string): string {
  return `Bearer authorization="${authorityHost.replace(/\/$/, "")}/${tenantId}", resource="${resource}"`;
}

function audienceMatches(aud: unknown, resource: string): boolean {
  return typeof aud === "string" && aud.replace(/\/$/, "") === resource.replace(/\/$/, "");
}

/**
 * Checks an `Authorization` header value. `undefined` header → the "missing token" rejection that triggers
 * the challenge.
 */
export function verifyBearer(
  authorization: string | undefined,
  expect: { readonly resource: string; readonly tenantId: string; readonly nowSec: number },
): { ok: true; caller: VerifiedCaller } | { ok: false; rejection: TokenRejection } {
  if (authorization === undefined || authorization.trim() === "") {
    return { ok: false, rejection: { message: "AKV10000: Request is missing a Bearer or PoP token." } };
  }
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (match === null) return { ok: false, rejection: { message: "AKV10000: Request is missing a Bearer or PoP token." } };
  let claims: Record<string, unknown>;
  try {
    claims = decodeFakeJwt(match[1] ?? "") as unknown as Record<string, unknown>;
  } catch {
    return { ok: false, rejection: { message: "Invalid token: not a JWT issued by the fake IMDS/AAD." } };
  }
  if (typeof claims !== "object" || claims === null) return { ok: false, rejection: { message: "Invalid token: no claims." } };
  const appid = typeof claims["appid"] === "string" ? claims["appid"] : undefined;
  const seen = appid !== undefined ? { appid } : {};
  if (!audienceMatches(claims["aud"], expect.resource)) {
    return { ok: false, rejection: { message: `Invalid audience. Expected ${expect.resource}, found: ${String(claims["aud"])}.`, ...seen } };
  }
  const iss = typeof claims["iss"] === "string" ? claims["iss"] : "";
  let issuerHost = "";
  try {
    issuerHost = new URL(iss).hostname.toLowerCase();
  } catch {
    issuerHost = "";
  }
  if (!ISSUER_HOSTS.includes(issuerHost)) {
    return { ok: false, rejection: { message: `Invalid issuer. Expected an issuer on ${ISSUER_HOSTS.join(" or ")}, found: ${iss}.`, ...seen } };
  }
  const tid = typeof claims["tid"] === "string" ? claims["tid"] : "";
  if (tid.toLowerCase() !== expect.tenantId.toLowerCase() || !iss.toLowerCase().includes(`/${tid.toLowerCase()}`)) {
    return { ok: false, rejection: { message: `Invalid issuer: the token's tenant ${tid || "(none)"} is not the vault's tenant ${expect.tenantId}.`, ...seen } };
  }
  const exp = typeof claims["exp"] === "number" ? claims["exp"] : 0;
  const nbf = typeof claims["nbf"] === "number" ? claims["nbf"] : 0;
  if (exp <= expect.nowSec) return { ok: false, rejection: { message: `Token expired at ${exp} (now ${expect.nowSec}).`, ...seen } };
  if (nbf > expect.nowSec + 300) return { ok: false, rejection: { message: `Token not valid before ${nbf} (now ${expect.nowSec}).`, ...seen } };
  const oid = typeof claims["oid"] === "string" ? claims["oid"] : "";
  if (appid === undefined || appid === "") return { ok: false, rejection: { message: "Invalid token: no appid claim." } };
  return { ok: true, caller: { appid, oid } };
}
