/**
 * The `serviceaccounts/token` subresource (TokenRequest, `authentication.k8s.io/v1`) with kube-apiserver's
 * rules, in its order: the body's name/namespace must match the URL (422), the ServiceAccount must exist
 * (404), audiences default to the API audiences (the issuer), `spec.expirationSeconds` defaults to 3600 and
 * must lie in [600, 2^32] (422), a `boundObjectRef` must name an existing Pod or Secret in the namespace (404;
 * other kinds 400; a Pod running as another service account 400; a `uid` that differs 409 Conflict), and an
 * expiration above the configured maximum is shortened with a `Warning` header. The token is an RS256 JWT
 * with kube-apiserver's claims; the answer is 201 with `status.token` and `status.expirationTimestamp`.
 *
 * Not reproduced: the 3607-second "extended expiration" of kubelet-projected tokens (the token's `exp` is
 * always what `status.expirationTimestamp` says), Node-bound tokens and the `node` claim (features after
 * the v1.29 this fake reports), and admission (RBAC on `create serviceaccounts/token`).
 * @packageDocumentation
 */
import { randomUUID } from "node:crypto";
import { isJsonObject, stringAt, type JsonObject, type JsonValue, type KubeObject } from "./json.js";
import type { ResourceApi } from "./resource-api.js";
import type { ServiceAccountTokenSigner } from "./service-account-issuer.js";
import { ApiError, badRequest, conflict, invalid, notFound } from "./status.js";
import { rfc3339 } from "./time.js";

/** The API version of TokenRequest objects. */
export const TOKEN_REQUEST_API_VERSION = "authentication.k8s.io/v1";
/** kube-apiserver's floor for `spec.expirationSeconds` (10 minutes). */
export const MIN_TOKEN_EXPIRATION_SECONDS = 600;
/** The expiration of a TokenRequest that does not ask for one (API defaulting: 1 hour). */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
const TOKEN_REQUEST_SUBJECT = { resource: "TokenRequest", group: "authentication.k8s.io" } as const;

/** What the subresource needs from the server. */
export interface TokenRequestContext {
  readonly api: ResourceApi;
  readonly signer: ServiceAccountTokenSigner;
  /** The `iss` claim. */
  readonly issuer: string;
  /** Audiences of a request that names none (kube-apiserver: `--api-audiences`, else the issuer). */
  readonly apiAudiences: readonly string[];
  /** `--service-account-max-token-expiration` in seconds; longer requests are shortened (none when undefined). */
  readonly maxExpirationSeconds: number | undefined;
}

/** The created TokenRequest and the warnings to send (`Warning: 299 - "…"` headers). */
export interface TokenRequestResult {
  readonly body: JsonObject;
  readonly warnings: readonly string[];
}

interface BoundObject {
  readonly ref: JsonObject;
  readonly kind: "Pod" | "Secret";
  readonly name: string;
  readonly uid: string;
}

function specOf(body: JsonObject): JsonObject {
  const spec = body["spec"];
  if (spec === undefined || spec === null) return {};
  if (!isJsonObject(spec)) throw badRequest("TokenRequest.spec must be an object");
  return spec;
}

function audiencesOf(spec: JsonObject, defaults: readonly string[]): string[] {
  const value = spec["audiences"];
  if (value === undefined || value === null) return [...defaults];
  if (!Array.isArray(value) || !value.every((a): a is string => typeof a === "string")) throw badRequest("TokenRequest.spec.audiences must be a list of strings");
  return value.length === 0 ? [...defaults] : value;
}

function expirationOf(spec: JsonObject): number {
  const value = spec["expirationSeconds"];
  if (value === undefined || value === null) return DEFAULT_TOKEN_EXPIRATION_SECONDS;
  if (typeof value !== "number" || !Number.isInteger(value)) throw badRequest(`TokenRequest.spec.expirationSeconds must be an integer, got ${JSON.stringify(value)}`);
  return value;
}

function validateExpiration(seconds: number): void {
  const field = "spec.expirationSeconds";
  if (seconds < MIN_TOKEN_EXPIRATION_SECONDS) {
    throw invalid({ ...TOKEN_REQUEST_SUBJECT, name: "" }, [{ field, message: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes` }]);
  }
  if (seconds > MAX_TOKEN_EXPIRATION_SECONDS) {
    throw invalid({ ...TOKEN_REQUEST_SUBJECT, name: "" }, [{ field, message: `Invalid value: ${seconds}: may not specify a duration larger than 2^32 seconds` }]);
  }
}

/** The group/version/kind string Go prints (`/v1, Kind=Node`, `apps/v1, Kind=Pod`). */
function gvkString(apiVersion: string, kind: string): string {
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return `${group}/${version}, Kind=${kind}`;
}

function resolveBoundObject(api: ResourceApi, namespace: string, serviceAccount: string, ref: JsonValue | undefined): BoundObject | undefined {
  if (ref === undefined || ref === null) return undefined;
  if (!isJsonObject(ref)) throw badRequest("TokenRequest.spec.boundObjectRef must be an object");
  const apiVersion = stringAt(ref, "apiVersion") ?? "";
  const kind = stringAt(ref, "kind") ?? "";
  const name = stringAt(ref, "name") ?? "";
  const coreGroup = apiVersion === "" || !apiVersion.includes("/");
  if (!coreGroup || (kind !== "Pod" && kind !== "Secret")) throw badRequest(`cannot bind token to object of type ${gvkString(apiVersion, kind)}`);
  if (name === "") throw badRequest("Name parameter required.");
  const plural = kind === "Pod" ? "pods" : "secrets";
  const def = api.registry.lookup("", "v1", plural);
  if (def === undefined) throw notFound({ resource: plural, group: "", name });
  const object = api.get(def, namespace, name);
  if (kind === "Pod") {
    // The API server's admission fills in "default" for pods that name no service account; this fake has none.
    const podServiceAccount = stringAt(isJsonObject(object["spec"]) ? object["spec"] : undefined, "serviceAccountName") || "default";
    if (podServiceAccount !== serviceAccount) {
      throw badRequest(`cannot bind token for serviceaccount "${serviceAccount}" to pod running with different serviceaccount name.`);
    }
  }
  const uid = stringAt(object.metadata, "uid") ?? "";
  const wanted = stringAt(ref, "uid") ?? "";
  if (wanted !== "" && wanted !== uid) {
    throw conflict(
      { resource: kind, group: "", name },
      `the UID in the bound object reference (${wanted}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  return { ref, kind, name, uid };
}

function sortedKeys(value: JsonObject): JsonObject {
  // kube-apiserver's JWT library marshals claims through Go maps, whose JSON keys come out sorted.
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key] ?? null]));
}

function claimsFor(issuer: string, serviceAccount: KubeObject, bound: BoundObject | undefined, audiences: readonly string[], issuedAtMs: number, expirationSeconds: number): JsonObject {
  const iat = Math.floor(issuedAtMs / 1000);
  const kubernetes: JsonObject = {
    namespace: stringAt(serviceAccount.metadata, "namespace") ?? "",
    serviceaccount: { name: stringAt(serviceAccount.metadata, "name") ?? "", uid: stringAt(serviceAccount.metadata, "uid") ?? "" },
  };
  if (bound !== undefined) kubernetes[bound.kind === "Pod" ? "pod" : "secret"] = { name: bound.name, uid: bound.uid };
  return sortedKeys({
    aud: [...audiences],
    exp: iat + expirationSeconds,
    iat,
    iss: issuer,
    jti: randomUUID(),
    "kubernetes.io": sortedKeys(kubernetes),
    nbf: iat,
    sub: `system:serviceaccount:${kubernetes["namespace"] as string}:${stringAt(serviceAccount.metadata, "name") ?? ""}`,
  });
}

/**
 * Handles `POST /api/v1/namespaces/{namespace}/serviceaccounts/{name}/token` with a decoded body. Throws
 * the real server's `Status` as an {@link ApiError} for every refusal.
 */
export async function createServiceAccountToken(ctx: TokenRequestContext, namespace: string, name: string, body: JsonValue | undefined): Promise<TokenRequestResult> {
  if (!isJsonObject(body)) throw badRequest("the body of the request must be a TokenRequest object");
  const kind = body["kind"];
  const apiVersion = body["apiVersion"];
  if ((kind !== undefined && kind !== "TokenRequest") || (apiVersion !== undefined && apiVersion !== TOKEN_REQUEST_API_VERSION)) {
    throw badRequest(`the body must be a ${TOKEN_REQUEST_API_VERSION} TokenRequest, got ${String(apiVersion)} ${String(kind)}`);
  }
  const metadata = isJsonObject(body["metadata"]) ? body["metadata"] : {};
  const bodyName = stringAt(metadata, "name") ?? "";
  const bodyNamespace = stringAt(metadata, "namespace") ?? "";
  if (bodyName !== "" && bodyName !== name) {
    throw invalid({ ...TOKEN_REQUEST_SUBJECT, name }, [{ field: "metadata.name", message: `Invalid value: "${bodyName}": must match the service account name if specified` }]);
  }
  if (bodyNamespace !== "" && bodyNamespace !== namespace) {
    throw invalid({ ...TOKEN_REQUEST_SUBJECT, name }, [{ field: "metadata.namespace", message: `Invalid value: "${bodyNamespace}": must match the service account namespace if specified` }]);
  }
  const serviceAccounts = ctx.api.registry.lookup("", "v1", "serviceaccounts");
  if (serviceAccounts === undefined) throw notFound({ resource: "serviceaccounts", group: "", name });
  const serviceAccount = ctx.api.get(serviceAccounts, namespace, name);

  const spec = specOf(body);
  const audiences = audiencesOf(spec, ctx.apiAudiences);
  let expirationSeconds = expirationOf(spec);
  const now = ctx.api.now();
  validateExpiration(expirationSeconds);
  const bound = resolveBoundObject(ctx.api, namespace, name, spec["boundObjectRef"]);
  const warnings: string[] = [];
  const max = ctx.maxExpirationSeconds;
  if (max !== undefined && max > 0 && expirationSeconds > max) {
    warnings.push(`requested expiration of ${expirationSeconds} seconds shortened to ${max} seconds`);
    expirationSeconds = max;
  }
  const issuedAtMs = Math.floor(now.getTime() / 1000) * 1000;
  let token: string;
  try {
    token = await ctx.signer.sign(claimsFor(ctx.issuer, serviceAccount, bound, audiences, issuedAtMs, expirationSeconds));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(500, "InternalError", `failed to generate token: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    warnings,
    body: {
      kind: "TokenRequest",
      apiVersion: TOKEN_REQUEST_API_VERSION,
      metadata: { name, namespace, creationTimestamp: rfc3339(now) },
      spec: { audiences, expirationSeconds, ...(bound !== undefined ? { boundObjectRef: bound.ref } : {}) },
      status: { token, expirationTimestamp: rfc3339(new Date(issuedAtMs + expirationSeconds * 1000)) },
    },
  };
}
