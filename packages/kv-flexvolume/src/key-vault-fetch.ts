/**
 * Fetches each object of a mount with the Azure SDK's Key Vault clients (default options, so the SDK's challenge
 * authentication and its check that the challenge names the vault's own cloud stay on) and turns it into the
 * bytes the original driver wrote: a secret's value, a key's RSA modulus as base64url text, a certificate's DER.
 */
import { STATUS_CODES } from "node:http";
import type { TokenCredential } from "@azure/core-auth";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import type { DriverLog } from "./log.js";
import { fail, ok, type Result } from "./result.js";
import type { VaultObject } from "./vault-objects.js";

/** An object's file content, ready to write. */
export interface FetchedObject {
  readonly object: VaultObject;
  readonly content: Buffer;
  /** The version Key Vault returned (for the log). */
  readonly version: string | undefined;
}

/** Lazily built clients of one vault, so a mount of secrets only never builds a key client. */
class VaultClients {
  #secrets: SecretClient | undefined;
  #keys: KeyClient | undefined;
  #certificates: CertificateClient | undefined;

  readonly #url: string;
  readonly #credential: TokenCredential;

  constructor(url: string, credential: TokenCredential) {
    this.#url = url;
    this.#credential = credential;
  }

  get secrets(): SecretClient {
    this.#secrets ??= new SecretClient(this.#url, this.#credential);
    return this.#secrets;
  }

  get keys(): KeyClient {
    this.#keys ??= new KeyClient(this.#url, this.#credential);
    return this.#keys;
  }

  get certificates(): CertificateClient {
    this.#certificates ??= new CertificateClient(this.#url, this.#credential);
    return this.#certificates;
  }
}

async function fetchContent(clients: VaultClients, object: VaultObject): Promise<Result<{ content: Buffer; version: string | undefined }>> {
  const version = object.version === "" ? undefined : object.version;
  switch (object.type) {
    case "secret": {
      const secret = await clients.secrets.getSecret(object.name, version === undefined ? {} : { version });
      if (secret.value === undefined) return fail(`secret ${JSON.stringify(object.name)} has no value`);
      return ok({ content: Buffer.from(secret.value, "utf8"), version: secret.properties.version });
    }
    case "key": {
      const key = await clients.keys.getKey(object.name, version === undefined ? {} : { version });
      const modulus = key.key?.n;
      if (modulus === undefined) return fail(`key ${JSON.stringify(object.name)} is ${key.keyType ?? "of an unknown type"}, not RSA: the azure/kv driver writes a key's RSA modulus`);
      return ok({ content: Buffer.from(Buffer.from(modulus).toString("base64url"), "utf8"), version: key.properties.version });
    }
    case "cert": {
      const certificate = version === undefined ? await clients.certificates.getCertificate(object.name) : await clients.certificates.getCertificateVersion(object.name, version);
      if (certificate.cer === undefined) return fail(`certificate ${JSON.stringify(object.name)} has no public certificate (cer) yet`);
      return ok({ content: Buffer.from(certificate.cer), version: certificate.properties.version });
    }
  }
}

/** A Key Vault error as one line naming the object, the HTTP status and Key Vault's own code and message. */
export function describeKeyVaultError(object: VaultObject, vault: string, error: unknown): string {
  const what = `${object.type} ${JSON.stringify(object.name)}${object.version === "" ? "" : ` version ${object.version}`} of vault ${vault}`;
  const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
  const status = typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number" ? error.statusCode : undefined;
  if (status === undefined) return `could not fetch ${what}: ${message}`;
  const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? ` ${error.code}` : "";
  const hint = status === 403 ? " (the pod's identity has no get permission on it: grant it in the vault's access policy or RBAC)" : status === 404 ? " (no such object or version)" : "";
  return `Key Vault answered HTTP ${status} ${STATUS_CODES[status] ?? ""}${code} for ${what}: ${message}${hint}`;
}

/** Fetches every object, or fails on the first that cannot be fetched (nothing is written before all are in). */
export async function fetchObjects(url: string, credential: TokenCredential, objects: readonly VaultObject[], log: DriverLog): Promise<Result<FetchedObject[]>> {
  const clients = new VaultClients(url, credential);
  const fetched: FetchedObject[] = [];
  for (const object of objects) {
    let result: Result<{ content: Buffer; version: string | undefined }>;
    try {
      result = await fetchContent(clients, object);
    } catch (error) {
      result = fail(describeKeyVaultError(object, url, error));
    }
    if (!result.ok) return result;
    log.info({ type: object.type, name: object.name, version: result.value.version, file: object.fileName, bytes: result.value.content.length }, "fetched");
    fetched.push({ object, content: result.value.content, version: result.value.version });
  }
  return ok(fetched);
}
