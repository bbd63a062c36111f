import type { KubeError } from "../ports/kube-errors.js";
import type { ImdsTokenBody, TokenSourceError } from "../ports/token-source.port.js";
import type { AttributionError } from "./caller-attribution.js";
import type { UnbackedReason } from "./assignment-backing.js";
import type { BadRequestReason, FinalNmiDecision, NotFoundReason } from "./decision.js";
import type { ExceptionRefusal } from "./exception-policy.js";
import { hostTokenScopeDescription } from "./host-token-scope.js";
import type { SecretContentError } from "./fetch-plan.js";
import type { SecretRef } from "../model/types.js";
import type { ServiceAccountTokenError } from "../ports/service-account-token-reader.port.js";
import { federatedRefusalDescription } from "./federated-fetch.js";

/**
 * Rendering of every final NMI outcome as an HTTP response in IMDS's style. Unlike the original (plain-text
 * Go errors except for the Metadata-header 400), every error is JSON `{error, error_description}`, so SDK
 * error messages carry the description; status codes are the original's.
 * @packageDocumentation
 */

/** Error codes, all from the IMDS swagger's `IdentityErrorResponse.error` enum. */
export type ImdsErrorCode =
  | "invalid_request"
  | "bad_request"
  | "forbidden"
  | "not_found"
  | "server_error"
  | "service_unavailable"
  | "too_many_requests";

/** An IMDS error body. Descriptions are for humans; clients must not parse them (IMDS docs). */
export interface ImdsErrorBody {
  readonly error: ImdsErrorCode;
  readonly error_description: string;
}

/**
 * The token inside a `/host/token` answer: exactly the seven fields of the original's `adal.Token`, the type
 * both Key Vault drivers decode it into (docs/compatibility.md, "Host token endpoint"). Values stay IMDS's
 * strings; the drivers' `json.Number` fields accept numeric strings.
 */
export interface HostToken {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly expires_in: string;
  readonly expires_on: string;
  readonly not_before: string;
  readonly resource: string;
  readonly token_type: string;
}

/** The original's `/host/token` success body. */
export interface HostTokenBody {
  readonly token: HostToken;
  readonly clientid: string;
}

/** The seven `adal.Token` fields of `token`, in the original's order (nothing else: no `client_id`, no extras). */
function hostToken(token: ImdsTokenBody): HostToken {
  return {
    access_token: token.access_token,
    refresh_token: token.refresh_token,
    expires_in: token.expires_in,
    expires_on: token.expires_on,
    not_before: token.not_before,
    resource: token.resource,
    token_type: token.token_type,
  };
}

/** A response ready to send. */
export interface ImdsResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ImdsErrorBody | ImdsTokenBody | HostTokenBody;
}

/** How reading an identity's Secret failed. */
export type SecretFailure = SecretContentError | { readonly kind: "secretReadFailed"; readonly secretRef: SecretRef; readonly error: KubeError };

/** Every final outcome of a request NMI answers itself. */
export type NmiOutcome =
  | FinalNmiDecision
  /** A token was obtained (`fetch` or `excepted` succeeded). */
  | { readonly kind: "issued"; readonly shape: "imds"; readonly token: ImdsTokenBody }
  | { readonly kind: "issued"; readonly shape: "host"; readonly token: ImdsTokenBody; readonly clientId: string }
  /** The token source refused or failed. */
  | { readonly kind: "tokenFailed"; readonly error: TokenSourceError }
  /** The Secret of a type 1/2 identity could not be used. */
  | { readonly kind: "secretFailed"; readonly failure: SecretFailure }
  /** The calling pod's projected service-account token (type 3) could not be used. */
  | { readonly kind: "serviceAccountTokenFailed"; readonly error: ServiceAccountTokenError };

/** The content type of every response, as the original set for its JSON answers. */
export const IMDS_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * The headers of every issued token: one frozen object, so a server writing the same token again can reuse
 * what it built from them.
 */
const ISSUED_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "content-type": IMDS_CONTENT_TYPE });

/** The text of the original's Metadata-header answer, which SDKs and e2e tests look for verbatim. */
export const METADATA_HEADER_REQUIRED_DESCRIPTION = "Required metadata header not specified";

/** An error response. */
function failure(status: number, error: ImdsErrorCode, description: string, extraHeaders: Record<string, string> = {}): ImdsResponse {
  return {
    status,
    headers: { "content-type": IMDS_CONTENT_TYPE, ...extraHeaders },
    body: { error, error_description: description },
  };
}

/** Description of a 400. */
function badRequestDescription(reason: BadRequestReason): string {
  switch (reason.kind) {
    case "metadataHeaderMissing":
      return METADATA_HEADER_REQUIRED_DESCRIPTION;
    case "forwardedHeader":
      return `requests with a ${reason.header} header are not accepted`;
    case "missingResource":
      return "parameter resource cannot be empty";
    case "repeatedParameter":
      return `parameter ${reason.name} must be given at most once`;
    case "nonCanonicalParameter":
      return `parameter ${reason.name} is not recognised; use ${reason.expected}`;
    case "multipleSelectors":
      return `only one of client_id, object_id and msi_res_id may be given (got ${reason.names.join(", ")})`;
    case "rejectedPath":
      return "Invalid request";
    case "missingPodHeaders":
      return "missing 'podname' and 'podns' from request header";
  }
}

/** Description of a 500 for an unattributable caller (no other pods' names: the caller reads this). */
function callerDescription(error: AttributionError): string {
  switch (error.kind) {
    case "invalidSourceAddress":
      return error.sourceIp === "" ? "request remote address is empty" : "request remote address is not an IP address";
    case "unknownCaller":
      return `failed to match pod IP ${error.sourceIp} with a pod on this node`;
    case "ambiguousCaller":
      return `more than one pod on this node has IP ${error.sourceIp}; refusing to guess`;
    case "callerTerminating":
      return `the pod with IP ${error.sourceIp} is terminating`;
    case "callerChanged":
      return "the pod at the request's address changed while the request was processed";
    case "interfaceUnresolved":
      return `the network interface of the pod with IP ${error.sourceIp} could not be resolved on this node; refusing to guess`;
    case "namedPodNotFound":
      return `pod ${error.namespace}/${error.name} is not a running pod of this node`;
  }
}

/** Wording of each reason an AAI is not backed. */
const UNBACKED_TEXT: Readonly<Record<UnbackedReason, string>> = {
  noBindingSelectsPod: "no AzureIdentityBinding selects the pod's aadpodidbinding label",
  identityNotFound: "the AzureIdentity it names does not exist",
  namespaceMismatch: "namespaced matching: pod, binding and identity must share a namespace",
  identityNotBound: "no AzureIdentityBinding selecting the pod names that AzureIdentity",
};

/** Description of a 404/503 "no identity". */
function notFoundDescription(reason: NotFoundReason, pod: string): string {
  switch (reason.kind) {
    case "noAssignedIdentity":
      return `no AzureAssignedIdentity found for pod ${pod}; check MIC logs for assignment errors`;
    case "notAssignedInTime":
      return `the identity of pod ${pod} was not assigned in time; check MIC logs for assignment errors`;
    case "requestedIdentityNotFound":
      return `no azure identity found for pod ${pod} matching the requested ${reason.selector.by}`;
    case "noBoundIdentity":
      return `no AzureIdentityBinding/AzureIdentity found for pod ${pod}`;
    case "unbackedAssignment":
      return `AzureAssignedIdentity ${reason.assignedIdentity.namespace}/${reason.assignedIdentity.name} is not backed by a live binding and identity for pod ${pod} (${UNBACKED_TEXT[reason.why]}); no token issued`;
  }
}

/** Description of a 403 for an excepted pod (names only what the pod asked for and the identity's object). */
function exceptionRefusalDescription(reason: ExceptionRefusal): string {
  switch (reason.kind) {
    case "managedIdentity":
      return `excepted pods obtain only the node's own identities; the requested ${reason.selector.by} is AzureIdentity ${reason.identity.namespace}/${reason.identity.name}, which podid manages for other pods`;
    case "unverifiableSelector":
      return "excepted pods obtain only the node's own identities; object_id cannot be checked against AzureIdentities, use client_id or msi_res_id";
  }
}

/** `Retry-After` seconds for a delay in ms (at least 1). */
function retryAfter(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** 403 for refusals, 503 for an unreachable source, 429 + `Retry-After` when throttled. */
function tokenFailureResponse(error: TokenSourceError): ImdsResponse {
  switch (error.kind) {
    case "rejected":
      return failure(403, "forbidden", `${error.error}: ${error.description}`);
    case "unavailable":
      return failure(503, "service_unavailable", error.message);
    case "throttled":
      return failure(429, "too_many_requests", error.message, { "retry-after": retryAfter(error.retryAfterMs) });
  }
}

/** Secret problems a retry cannot fix are 403 (configuration); API trouble is 503 (retry). */
function secretResponse(failureInfo: SecretFailure): ImdsResponse {
  const ref = `${failureInfo.secretRef.namespace}/${failureInfo.secretRef.name}`;
  if (failureInfo.kind === "secretInvalid") return failure(403, "forbidden", `secret ${ref}: ${failureInfo.reason}`);
  const { error } = failureInfo;
  switch (error.kind) {
    case "notFound":
    case "forbidden":
    case "invalid":
      return failure(403, "forbidden", `secret ${ref} cannot be read: ${error.kind}`);
    case "throttled":
      return failure(503, "service_unavailable", `secret ${ref} cannot be read now`, { "retry-after": retryAfter(error.retryAfterMs) });
    case "conflict":
    case "expired":
    case "transient":
      return failure(503, "service_unavailable", `secret ${ref} cannot be read now`);
  }
}

/**
 * A pod whose token file does not belong to it is refused (403: a retry cannot fix it); a file kubelet has not
 * written yet, cannot be read, or let expire is 503 (kubelet writes and refreshes it; the pod's SDK retries).
 */
function serviceAccountTokenResponse(error: ServiceAccountTokenError): ImdsResponse {
  switch (error.kind) {
    case "mismatch":
      return failure(403, "forbidden", `serviceAccountTokenMismatch: the pod's service-account token file is not the pod's own (${error.reason})`);
    case "missing":
      return failure(503, "service_unavailable", `serviceAccountTokenMissing: kubelet has not written the pod's service-account token yet (${error.reason}); retry`);
    case "unreadable":
      return failure(503, "service_unavailable", `serviceAccountTokenUnreadable: the pod's service-account token cannot be read (${error.reason}); retry`);
    case "expired":
      return failure(503, "service_unavailable", "serviceAccountTokenExpired: the pod's service-account token has expired and kubelet has not refreshed it; retry");
  }
}

/**
 * The HTTP response for a final outcome. Status codes: 400 bad requests (`Metadata` header with the exact
 * text "Required metadata header not specified"); 500 unattributable callers and `/host/token` from a
 * non-host address (as the original); 403 blocked instance metadata, disabled or out-of-scope `/host/token`, unusable
 * identity or Secret, and token-source refusals; 404 no identity, or 503 + `Retry-After` with
 * `--set-retry-after-header`; 503 token source unavailable (PR #1206), Secret or SecretProviderClass read failing;
 * 429 + `Retry-After` when throttled; 200 with the token (or the host shape). Header names are lower case.
 */
export function toImdsResponse(outcome: NmiOutcome): ImdsResponse {
  switch (outcome.kind) {
    case "badRequest":
      return failure(400, outcome.reason.kind === "forwardedHeader" ? "bad_request" : "invalid_request", badRequestDescription(outcome.reason));
    case "callerUnknown":
      return failure(500, "server_error", callerDescription(outcome.error));
    case "hostTokenDenied":
      return outcome.reason === "notFromHost"
        ? failure(500, "server_error", "request remote address is not from a host")
        : failure(403, "forbidden", "the /host/token endpoint is disabled");
    case "hostTokenOutOfScope":
      return failure(403, "forbidden", hostTokenScopeDescription(outcome.pod, outcome.reason));
    case "hostTokenScopeUnavailable": {
      const { secretProviderClass: spc, error } = outcome;
      const description = `SecretProviderClass ${spc.namespace}/${spc.name} cannot be read now (${error?.kind ?? "not looked up"}); retry`;
      return error?.kind === "throttled"
        ? failure(503, "service_unavailable", description, { "retry-after": retryAfter(error.retryAfterMs) })
        : failure(503, "service_unavailable", description);
    }
    case "instanceBlocked":
      return failure(403, "forbidden", "Request blocked by AAD Pod Identity NMI");
    case "methodNotAllowed":
      return failure(405, "invalid_request", `method ${outcome.method} is not allowed on this endpoint; use ${outcome.allow.join(" or ")}`, { allow: outcome.allow.join(", ") });
    case "httpVersionNotSupported":
      return failure(505, "invalid_request", "only HTTP/1.0 and HTTP/1.1 are supported", { connection: "close" });
    case "notFound": {
      const description = notFoundDescription(outcome.reason, `${outcome.caller.namespace}/${outcome.caller.name}`);
      return outcome.retryAfterSeconds === undefined
        ? failure(404, "not_found", description)
        : failure(503, "service_unavailable", description, { "retry-after": String(outcome.retryAfterSeconds) });
    }
    case "exceptionRefused":
      return failure(403, "forbidden", exceptionRefusalDescription(outcome.reason));
    case "invalidIdentity":
      return failure(
        403,
        "forbidden",
        `identity ${outcome.identity.metadata.namespace}/${outcome.identity.metadata.name} cannot be used: ${outcome.reason}`,
      );
    case "federatedRefused":
      return failure(403, "forbidden", federatedRefusalDescription(outcome.reason, outcome.identity.metadata, outcome.caller));
    case "issued":
      return {
        status: 200,
        headers: ISSUED_HEADERS,
        body: outcome.shape === "imds" ? outcome.token : { token: hostToken(outcome.token), clientid: outcome.clientId },
      };
    case "tokenFailed":
      return tokenFailureResponse(outcome.error);
    case "secretFailed":
      return secretResponse(outcome.failure);
    case "serviceAccountTokenFailed":
      return serviceAccountTokenResponse(outcome.error);
  }
}
