/**
 * Kubernetes `Status` error bodies (meta/v1 `Status`), the only error shape real clients understand:
 * client-go maps `reason` to `errors.IsNotFound`/`IsConflict`/…, kubectl prints `message`, and
 * @kubernetes/client-node surfaces the body in `ApiException.body`.
 * @packageDocumentation
 */
import type { JsonObject } from "./json.js";

/** The `reason` values the fake uses (a subset of meta/v1 `StatusReason`). */
export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "NotFound"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "AlreadyExists"
  | "Conflict"
  | "Expired"
  | "Gone"
  | "UnsupportedMediaType"
  | "Invalid"
  | "TooManyRequests"
  | "InternalError"
  | "Timeout";

/** Which object an error is about (`Status.details`). */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  /** The resource (plural) the object belongs to, as the real server reports it. */
  readonly kind?: string;
  readonly retryAfterSeconds?: number;
  readonly causes?: readonly { readonly reason?: string; readonly message?: string; readonly field?: string }[];
}

/**
 * An API failure: thrown inside request handling and rendered as an HTTP response whose body is a
 * `Status` with the same `code`. Extra headers (e.g. `Retry-After`) travel with it.
 */
export class ApiError extends Error {
  /** HTTP status code (also `Status.code`). */
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails, headers?: Record<string, string>) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers ?? {};
  }

  /** The `Status` body of this error. */
  toStatus(): JsonObject {
    return statusBody(this.code, this.reason, this.message, this.details);
  }
}

/** A failure `Status` object. */
export function statusBody(code: number, reason: StatusReason, message: string, details?: StatusDetails): JsonObject {
  const body: JsonObject = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details !== undefined) body["details"] = JSON.parse(JSON.stringify(details)) as JsonObject;
  return body;
}

/** A `Status` with `status: Success` (returned by deletecollection-like calls). */
export function successStatus(details?: StatusDetails): JsonObject {
  const body: JsonObject = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 200 };
  if (details !== undefined) body["details"] = JSON.parse(JSON.stringify(details)) as JsonObject;
  return body;
}

/** What a resource error names: the resource plural, its API group and the object name. */
export interface ErrorSubject {
  readonly resource: string;
  readonly group: string;
  readonly name?: string;
}

function qualified(subject: ErrorSubject): string {
  return subject.group === "" ? subject.resource : `${subject.resource}.${subject.group}`;
}

function details(subject: ErrorSubject): StatusDetails {
  return {
    ...(subject.name !== undefined ? { name: subject.name } : {}),
    ...(subject.group !== "" ? { group: subject.group } : {}),
    kind: subject.resource,
  };
}

/** 404 NotFound for a missing object, worded like the real server (`pods "x" not found`). */
export function notFound(subject: ErrorSubject): ApiError {
  return new ApiError(404, "NotFound", `${qualified(subject)} "${subject.name ?? ""}" not found`, details(subject));
}

/** 404 NotFound for an unknown path or resource type (what kubectl reports as "the server could not find the requested resource"). */
export function pathNotFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

/** 409 AlreadyExists for a create of an existing name. */
export function alreadyExists(subject: ErrorSubject): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualified(subject)} "${subject.name ?? ""}" already exists`, details(subject));
}

/** 409 Conflict for an optimistic-concurrency failure (stale `resourceVersion` or failed precondition). */
export function conflict(subject: ErrorSubject, why = "the object has been modified; please apply your changes to the latest version and try again"): ApiError {
  return new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(subject)} "${subject.name ?? ""}": ${why}`, details(subject));
}

/** 410 Expired: the requested resourceVersion is older than the retained history (etcd compaction). */
export function expired(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** 422 Invalid, with one cause per offending field. */
export function invalid(subject: ErrorSubject, causes: readonly { field: string; message: string }[]): ApiError {
  const kind = subject.group === "" ? subject.resource : `${subject.resource}.${subject.group}`;
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
  return new ApiError(422, "Invalid", `${kind} "${subject.name ?? ""}" is invalid: ${text}`, {
    ...details(subject),
    causes: causes.map((c) => ({ reason: "FieldValueInvalid", message: c.message, field: c.field })),
  });
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(method: string): ApiError {
  return new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${method})`);
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (Namespace, ConfigMap, Secret, ServiceAccount, TokenRequest), application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType})`);
}

/** 406 NotAcceptable. */
export function notAcceptable(accept: string): ApiError {
  return new ApiError(406, "NotAcceptable", `only the following media types are accepted: application/json (got ${accept})`);
}

/** 401 Unauthorized (wrong or missing bearer token). */
export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

/** 429 TooManyRequests with `Retry-After` (the header and `details.retryAfterSeconds`, as API priority and fairness sends). */
export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds }, {
    "Retry-After": String(retryAfterSeconds),
  });
}

/** 500 InternalError. */
export function internalError(message: string): ApiError {
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** 504 Timeout for a resourceVersion newer than the server's (the real "Too large resource version" answer). */
export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(504, "Timeout", `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });
}
