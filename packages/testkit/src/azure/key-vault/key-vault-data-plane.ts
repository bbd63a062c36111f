/**
 * The Key Vault operations the fake serves, for an authenticated caller of one vault: routing by path and
 * method, the access-policy check (before existence, as the service does), and the answers (bundles, pages,
 * Key Vault's error bodies). `fake-key-vault.ts` does TLS, the Host header, `api-version` and the token.
 * @packageDocumentation
 */
import type { VerifiedCaller } from "./key-vault-auth.js";
import { findVersion, isAllowed, OBJECT_NAME, type FakeVault, type KeyVaultObjectKind } from "./key-vault-model.js";
import { certificateBundle, keyBundle, keyVaultError, listPage, secretBundle, secretItem } from "./key-vault-wire.js";

/** An HTTP answer. */
export interface KeyVaultAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** What one request may touch: its vault, and how to read the body and store a secret. */
export interface DataPlaneContext {
  readonly vault: FakeVault;
  /** `https://<vault>.<suffix>`. */
  readonly vaultUrl: string;
  readonly tenantId: string;
  /** Default page size of list answers. */
  readonly pageSize: number;
  readBody(): Promise<string>;
  /** Stores a new secret version; returns its id. */
  putSecret(name: string, value: string, options: { readonly contentType?: string; readonly tags?: Readonly<Record<string, string>> }): string;
}

/** Key Vault's largest page (`maxresults`). */
export const MAX_PAGE = 25;

const notFoundCode: Record<KeyVaultObjectKind, string> = { secrets: "SecretNotFound", keys: "KeyNotFound", certificates: "CertificateNotFound" };
const singular: Record<KeyVaultObjectKind, string> = { secrets: "secret", keys: "key", certificates: "certificate" };

/** Answers one authenticated data-plane request (`segments`: the percent-decoded path segments). */
export async function answerDataPlane(ctx: DataPlaneContext, method: string, segments: readonly string[], params: URLSearchParams, apiVersion: string, caller: VerifiedCaller): Promise<KeyVaultAnswer> {
  const vault = ctx.vault;
  const [kindText, name, third, ...extra] = segments;
  const kind = kindText === "secrets" || kindText === "keys" || kindText === "certificates" ? kindText : undefined;
  if (kind === undefined || extra.length > 0) return { status: 404, body: keyVaultError("NotFound", `The fake Key Vault does not serve ${segments.join("/") || "/"}.`) };
  const isList = name === undefined || third === "versions";
  const permission = method === "PUT" && kind === "secrets" && name !== undefined && third === undefined ? "set" : method === "GET" ? (isList ? "list" : "get") : undefined;
  if (permission === undefined) return { status: 405, body: keyVaultError("MethodNotAllowed", `${method} is not supported on /${segments.join("/")} by the fake Key Vault.`) };
  if (!isAllowed(vault, caller, kind, permission)) {
    return {
      status: 403,
      body: keyVaultError(
        "Forbidden",
        `The user, group or application 'appid=${caller.appid};oid=${caller.oid};iss=https://sts.windows.net/${ctx.tenantId}/' does not have ${kind} ${permission} permission on key vault '${vault.name};location=fake'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        "AccessDenied",
      ),
    };
  }
  if (name === undefined || !OBJECT_NAME.test(name)) {
    if (name === undefined && kind === "secrets") return listSecrets(ctx, params, apiVersion);
    return { status: name === undefined ? 405 : 400, body: keyVaultError("BadParameter", `The fake Key Vault does not serve this ${kind} request.`) };
  }
  if (permission === "set") return setFromBody(ctx, name);
  if (third === "versions") {
    if (kind !== "secrets") return { status: 405, body: keyVaultError("MethodNotAllowed", `The fake Key Vault lists versions of secrets only.`) };
    return listVersions(ctx, name, params, apiVersion);
  }
  const version = third ?? "";
  const url = ctx.vaultUrl;
  const missing = (): KeyVaultAnswer => ({
    status: 404,
    body: keyVaultError(
      notFoundCode[kind],
      `A ${singular[kind]} with (name/id) ${name}${version === "" ? "" : `/${version}`} was not found in this key vault. If you recently deleted this ${singular[kind]} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    ),
  });
  switch (kind) {
    case "secrets": {
      const found = findVersion(vault.secrets, name, version);
      return found === undefined ? missing() : { status: 200, body: secretBundle(url, found.object.name, found.version) };
    }
    case "keys": {
      const found = findVersion(vault.keys, name, version);
      return found === undefined ? missing() : { status: 200, body: keyBundle(url, found.object.name, found.version) };
    }
    case "certificates": {
      const found = findVersion(vault.certificates, name, version);
      return found === undefined ? missing() : { status: 200, body: certificateBundle(url, found.object.name, found.version) };
    }
  }
}

async function setFromBody(ctx: DataPlaneContext, name: string): Promise<KeyVaultAnswer> {
  let body: unknown;
  try {
    body = JSON.parse(await ctx.readBody()) as unknown;
  } catch {
    return { status: 400, body: keyVaultError("BadParameter", "The request body is not valid JSON.") };
  }
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const value = fields["value"];
  if (typeof value !== "string") return { status: 400, body: keyVaultError("BadParameter", "Property 'value' of the secret is required and must be a string.") };
  const contentType = fields["contentType"];
  const tags = fields["tags"];
  const version = ctx.putSecret(name, value, {
    ...(typeof contentType === "string" ? { contentType } : {}),
    ...(typeof tags === "object" && tags !== null ? { tags: Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => typeof e[1] === "string")) } : {}),
  });
  const found = findVersion(ctx.vault.secrets, name, version);
  if (found === undefined) throw new Error("secret version vanished");
  return { status: 200, body: secretBundle(ctx.vaultUrl, found.object.name, found.version) };
}

function page<T>(ctx: DataPlaneContext, items: readonly T[], params: URLSearchParams, nextBase: string, apiVersion: string): { page: readonly T[]; nextLink: string | undefined } | KeyVaultAnswer {
  const maxText = params.get("maxresults");
  const size = maxText === null ? Math.min(ctx.pageSize, MAX_PAGE) : Number(maxText);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
    return { status: 400, body: keyVaultError("BadParameter", `maxresults must be a whole number from 1 to ${MAX_PAGE}.`) };
  }
  const skip = Number(params.get("$skiptoken") ?? "0");
  const offset = Number.isInteger(skip) && skip >= 0 ? skip : 0;
  const slice = items.slice(offset, offset + size);
  const next = offset + size < items.length ? `${nextBase}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${offset + size}&maxresults=${size}` : undefined;
  return { page: slice, nextLink: next };
}

function listVersions(ctx: DataPlaneContext, name: string, params: URLSearchParams, apiVersion: string): KeyVaultAnswer {
  const vault = ctx.vault;
  const url = ctx.vaultUrl;
  const secret = vault.secrets.get(name.toLowerCase());
  if (secret === undefined) {
    return { status: 404, body: keyVaultError("SecretNotFound", `A secret with (name/id) ${name} was not found in this key vault.`) };
  }
  const paged = page(ctx, secret.versions, params, `${url}/secrets/${secret.name}/versions`, apiVersion);
  if ("status" in paged) return paged;
  return { status: 200, body: listPage(paged.page.map((s) => secretItem(url, secret.name, s)), paged.nextLink) };
}

function listSecrets(ctx: DataPlaneContext, params: URLSearchParams, apiVersion: string): KeyVaultAnswer {
  const vault = ctx.vault;
  const url = ctx.vaultUrl;
  const latest = [...vault.secrets.values()].flatMap((s) => {
    const newest = s.versions.at(-1);
    return newest === undefined ? [] : [{ name: s.name, newest }];
  });
  const paged = page(ctx, latest, params, `${url}/secrets`, apiVersion);
  if ("status" in paged) return paged;
  // A list item's id names the secret without a version.
  return { status: 200, body: listPage(paged.page.map((s) => ({ ...secretItem(url, s.name, s.newest), id: `${url}/secrets/${s.name}` })), paged.nextLink) };
}
