import type { IncomingMessage } from "node:http";
import { err, ok, type Result } from "@podid/core";
import type { FakeFederatedCredentials, FakeFederatedCredential, FakeFederatedCredentialInput } from "../fakes/fake-federated-credentials.js";
import { federatedCredentialErrorToWire, type ArmWireError } from "./arm-wire-errors.js";
import { readBody } from "./http-kit.js";

/** ARM `type` of a federated identity credential. */
export const FEDERATED_CREDENTIAL_RESOURCE_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";

/** The fake ARM's operations on federated identity credentials. */
export type FederatedCredentialOperation = "ficGet" | "ficPut" | "ficDelete" | "ficList";

/** Where the request goes and how to answer it; given by the fake ARM's request handling. */
export interface FederatedCredentialRequest {
  readonly operation: FederatedCredentialOperation;
  /** ARM id of the parent identity, built from the path. */
  readonly identityId: string;
  /** The credential's name (not for `ficList`). */
  readonly name?: string;
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly apiVersion: string;
  /** The server's base URL, for absolute `nextLink`s. */
  readonly baseUrl: string;
  /** Items per list page when the client sends no `$top`. */
  readonly pageSize: number;
  readonly respond: (status: number, body: unknown, headers?: Record<string, string>) => void;
  readonly fail: (error: ArmWireError) => void;
}

/** A credential in ARM's wire shape (what `@azure/arm-msi`'s `FederatedIdentityCredential` mapper reads). */
export function federatedCredentialBody(credential: FakeFederatedCredential): unknown {
  return {
    id: `${credential.identityId}/federatedIdentityCredentials/${credential.name}`,
    name: credential.name,
    type: FEDERATED_CREDENTIAL_RESOURCE_TYPE,
    properties: { issuer: credential.issuer, subject: credential.subject, audiences: [...credential.audiences] },
  };
}

/**
 * Reads a PUT body `{"properties":{"issuer","subject","audiences"}}`. Missing values are passed on (the
 * store answers Entra ID's "empty properties" 400); values of the wrong JSON type are ARM's 400
 * `InvalidRequestContent`.
 */
export function parseFederatedCredentialBody(text: string): Result<FakeFederatedCredentialInput, ArmWireError> {
  const invalid = (detail: string): Result<never, ArmWireError> =>
    err({ status: 400, code: "InvalidRequestContent", message: `The request content was invalid and could not be deserialized: '${detail}'.` });
  let body: unknown;
  try {
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    return invalid(error instanceof Error ? error.message : String(error));
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return invalid("the body must be a JSON object");
  const properties = (body as { properties?: unknown }).properties;
  if (properties === undefined || properties === null) return ok({});
  if (typeof properties !== "object" || Array.isArray(properties)) return invalid("'properties' must be an object");
  const { issuer, subject, audiences } = properties as { issuer?: unknown; subject?: unknown; audiences?: unknown };
  if (issuer !== undefined && issuer !== null && typeof issuer !== "string") return invalid("'properties.issuer' must be a string");
  if (subject !== undefined && subject !== null && typeof subject !== "string") return invalid("'properties.subject' must be a string");
  if (audiences !== undefined && audiences !== null && (!Array.isArray(audiences) || !audiences.every((a) => typeof a === "string"))) {
    return invalid("'properties.audiences' must be an array of strings");
  }
  return ok({
    issuer: typeof issuer === "string" ? issuer : undefined,
    subject: typeof subject === "string" ? subject : undefined,
    audiences: Array.isArray(audiences) ? (audiences as string[]) : undefined,
  });
}

/**
 * Serves `PUT|GET|DELETE …/userAssignedIdentities/{name}/federatedIdentityCredentials/{fic}` and the list
 * (`$top`, `$skiptoken`, absolute `nextLink`) from a {@link FakeFederatedCredentials}: 201 on create, 200 on
 * update, 200 on delete (204 when there was nothing to delete), and the store's refusals as ARM errors.
 */
export async function serveFederatedCredentials(store: FakeFederatedCredentials, request: FederatedCredentialRequest): Promise<void> {
  const { identityId, respond, fail } = request;
  const name = request.name ?? "";
  switch (request.operation) {
    case "ficGet": {
      const found = store.get(identityId, name);
      if (found.ok) respond(200, federatedCredentialBody(found.value));
      else fail(federatedCredentialErrorToWire(found.error));
      return;
    }
    case "ficPut": {
      const input = parseFederatedCredentialBody(await readBody(request.req));
      if (!input.ok) {
        fail(input.error);
        return;
      }
      const written = await store.createOrUpdate(identityId, name, input.value);
      if (written.ok) respond(written.value.created ? 201 : 200, federatedCredentialBody(written.value.credential));
      else fail(federatedCredentialErrorToWire(written.error));
      return;
    }
    case "ficDelete": {
      const deleted = await store.delete(identityId, name);
      if (deleted.ok) respond(deleted.value.deleted ? 200 : 204, undefined);
      else fail(federatedCredentialErrorToWire(deleted.error));
      return;
    }
    case "ficList": {
      const listed = store.list(identityId);
      if (!listed.ok) {
        fail(federatedCredentialErrorToWire(listed.error));
        return;
      }
      const { url } = request;
      const top = Number.parseInt(url.searchParams.get("$top") ?? "", 10);
      const pageSize = Number.isFinite(top) && top > 0 ? top : Math.max(1, request.pageSize);
      const skip = Math.max(0, Number.parseInt(url.searchParams.get("$skiptoken") ?? "0", 10) || 0);
      const page = listed.value.slice(skip, skip + pageSize);
      const next = skip + pageSize < listed.value.length ? skip + pageSize : undefined;
      const topParam = Number.isFinite(top) && top > 0 ? `&$top=${top}` : "";
      const nextLink =
        next === undefined ? undefined : `${request.baseUrl}${url.pathname}?api-version=${encodeURIComponent(request.apiVersion)}${topParam}&$skiptoken=${next}`;
      respond(200, { value: page.map(federatedCredentialBody), ...(nextLink !== undefined ? { nextLink } : {}) });
      return;
    }
  }
}
