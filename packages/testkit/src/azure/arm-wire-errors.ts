import type { CatalogError, ComputeError } from "@podid/core";
import type { FakeFederatedCredentialError } from "../fakes/fake-federated-credentials.js";

/** An ARM error response: status, the `{error:{code,message}}` body and extra headers (`Retry-After`). */
export interface ArmWireError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** ARM's error body. */
export function armErrorBody(error: Pick<ArmWireError, "code" | "message">): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}

/**
 * Splits the `Code: message` form the in-memory fakes use into ARM's separate `code` and `message`
 * fields (`LinkedAuthorizationFailed: The client …` → code `LinkedAuthorizationFailed`). Messages without
 * a code prefix keep `fallbackCode`.
 */
export function splitCodedMessage(text: string, fallbackCode: string): { code: string; message: string } {
  const match = /^([A-Za-z][A-Za-z0-9]*): ([\s\S]*)$/.exec(text);
  if (match === null) return { code: fallbackCode, message: text };
  return { code: match[1] ?? fallbackCode, message: match[2] ?? "" };
}

function retryAfterHeader(retryAfterMs: number): Record<string, string> {
  return { "retry-after": String(Math.max(0, Math.ceil(retryAfterMs / 1000))) };
}

/**
 * The HTTP answer ARM gives for a {@link ComputeError} from `FakeCompute`: 429 + `Retry-After`
 * (`SubscriptionRequestsThrottled` when the whole subscription is throttled), 409, 412, 404, 403
 * `LinkedAuthorizationFailed` / `AuthorizationFailed`, 400 `FailedIdentityOperation`, 400 for the
 * 150-identities limit, and for `transient` a 400 when the fake named a 4xx code (`InvalidParameter`),
 * otherwise 500.
 */
export function computeErrorToWire(error: ComputeError): ArmWireError {
  switch (error.kind) {
    case "throttled": {
      const fallback = error.scope === "subscription" ? "SubscriptionRequestsThrottled" : "TooManyRequests";
      const split = splitCodedMessage(error.message, fallback);
      // core's classifyArmError reads the scope from the code, so keep the scope visible in it.
      const code = error.scope === "subscription" && !/subscription/i.test(split.code) ? fallback : split.code;
      return { status: 429, code, message: split.message, headers: retryAfterHeader(error.retryAfterMs) };
    }
    case "conflict":
      return { status: 409, ...splitCodedMessage(error.message, "Conflict") };
    case "preconditionFailed":
      return { status: 412, ...splitCodedMessage(error.message, "PreconditionFailed") };
    case "notFound":
      return { status: 404, ...splitCodedMessage(error.message, "ResourceNotFound") };
    case "forbiddenIdentities":
      return { status: 403, ...splitCodedMessage(error.message, "LinkedAuthorizationFailed") };
    case "forbidden":
      return { status: 403, ...splitCodedMessage(error.message, "AuthorizationFailed") };
    case "invalidIdentities":
      return { status: 400, ...splitCodedMessage(error.message, "FailedIdentityOperation") };
    case "tooManyIdentities":
      return { status: 400, ...splitCodedMessage(error.message, "BadRequest") };
    case "transient": {
      const split = splitCodedMessage(error.message, "InternalServerError");
      const clientError = /^(InvalidParameter|BadRequest|InvalidRequestContent)$/i.test(split.code);
      return { status: clientError ? 400 : 500, ...split };
    }
  }
}

/** The HTTP answer ARM gives for a {@link CatalogError} from `FakeIdentityCatalog`. */
export function catalogErrorToWire(error: CatalogError): ArmWireError {
  switch (error.kind) {
    case "notFound":
      return { status: 404, ...splitCodedMessage(error.message, "ResourceNotFound") };
    case "forbidden":
      return { status: 403, ...splitCodedMessage(error.message, "AuthorizationFailed") };
    case "throttled":
      return { status: 429, ...splitCodedMessage(error.message, "TooManyRequests"), headers: retryAfterHeader(error.retryAfterMs) };
    case "transient":
      return { status: 500, ...splitCodedMessage(error.message, "InternalServerError") };
  }
}

/**
 * The HTTP answer Microsoft.ManagedIdentity gives for a {@link FakeFederatedCredentialError}: 404 for a missing
 * parent identity or credential, 400 `BadRequest` with Entra ID's documented messages for the property,
 * name, uniqueness and 20-per-identity rules, 409 `ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity`
 * for overlapping writes, 429 + `Retry-After` when throttled.
 */
export function federatedCredentialErrorToWire(error: FakeFederatedCredentialError): ArmWireError {
  switch (error.kind) {
    case "identityNotFound":
      return { status: 404, code: "ParentResourceNotFound", message: error.message };
    case "notFound":
      return { status: 404, code: "NotFound", message: error.message };
    case "invalidName":
    case "emptyProperties":
    case "audienceCount":
    case "duplicateIssuerSubject":
    case "limitReached":
      return { status: 400, code: "BadRequest", message: error.message };
    case "concurrentWrite":
      return { status: 409, code: "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity", message: error.message };
    case "throttled":
      return { status: 429, code: "TooManyRequests", message: error.message, headers: retryAfterHeader(error.retryAfterMs ?? 1000) };
  }
}
