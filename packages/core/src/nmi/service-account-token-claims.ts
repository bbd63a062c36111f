import { err, ok, type Result } from "../result.js";
import type { ServiceAccountTokenError, ServiceAccountTokenExpectation } from "../ports/service-account-token-reader.port.js";
import { FEDERATED_TOKEN_AUDIENCE, serviceAccountSubject } from "../federated/service-account-subject.js";

/**
 * The claim checks NMI applies to a projected service-account token before it sends it to Entra ID
 * (docs/adr/0021-federated-identities.md): not the signature — Entra ID checks that against the issuer's keys —
 * but that the token belongs to the calling pod, so a file that is not the caller's is never sent.
 * @packageDocumentation
 */

function asObject(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Readonly<Record<string, unknown>>) : undefined;
}

/** The accepted token's facts. */
export interface CheckedServiceAccountToken {
  /** `exp` in Unix milliseconds. */
  readonly expiresAtMs: number;
}

/**
 * Checks the decoded payload of a service-account token against the pod it must belong to: `sub` is
 * `system:serviceaccount:<ns>:<sa>` of the pod's namespace and service account, `kubernetes.io.pod.uid` is the
 * pod's UID (kubelet binds projected tokens to their pod), `aud` (a string or a list) contains
 * `api://AzureADTokenExchange`, and `exp` is a number later than `nowMs`. The first failing check is the
 * error: `mismatch` naming the claim, `expired`, or `unreadable` for a payload that is not a claims object.
 */
export function checkServiceAccountTokenClaims(
  payload: unknown,
  expected: ServiceAccountTokenExpectation,
  nowMs: number,
): Result<CheckedServiceAccountToken, ServiceAccountTokenError> {
  const claims = asObject(payload);
  if (claims === undefined) return err({ kind: "unreadable", reason: "token payload is not a JSON object" });
  const subject = serviceAccountSubject(expected.namespace, expected.serviceAccountName);
  if (claims["sub"] !== subject) return err({ kind: "mismatch", claim: "sub", reason: `token subject is not ${subject}` });
  const pod = asObject(asObject(claims["kubernetes.io"])?.["pod"]);
  if (pod?.["uid"] !== expected.podUid) return err({ kind: "mismatch", claim: "podUid", reason: "token is not bound to the calling pod" });
  const aud = claims["aud"];
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(FEDERATED_TOKEN_AUDIENCE)) return err({ kind: "mismatch", claim: "aud", reason: `token audience does not contain ${FEDERATED_TOKEN_AUDIENCE}` });
  const exp = claims["exp"];
  if (typeof exp !== "number" || !Number.isFinite(exp)) return err({ kind: "mismatch", claim: "exp", reason: "token has no expiry" });
  const expiresAtMs = exp * 1000;
  if (expiresAtMs <= nowMs) return err({ kind: "expired", expiresAtMs });
  return ok({ expiresAtMs });
}
