/**
 * The state of the fake Key Vault: vaults, their secrets, keys and certificates (every version kept, newest
 * last), and one access policy list per vault. No HTTP here: `fake-key-vault.ts` maps requests onto it and
 * `key-vault-wire.ts` renders what it holds.
 * @packageDocumentation
 */
import type { KeyObject } from "node:crypto";

/** Secret permissions of an access policy (those the fake serves). */
export type SecretPermission = "get" | "list" | "set";
/** Key permissions of an access policy (those the fake serves). */
export type KeyPermission = "get" | "list";
/** Certificate permissions of an access policy (those the fake serves). */
export type CertificatePermission = "get" | "list";

/** Who an access policy entry is for: a token matches when its `appid` equals `clientId` or its `oid` equals `objectId`. */
export interface KeyVaultPrincipal {
  readonly clientId?: string;
  readonly objectId?: string;
}

/** What an access policy entry allows, per object kind. */
export interface KeyVaultPermissions {
  readonly secrets?: readonly SecretPermission[];
  readonly keys?: readonly KeyPermission[];
  readonly certificates?: readonly CertificatePermission[];
}

/** Object kinds as they appear in Key Vault paths and permissions. */
export type KeyVaultObjectKind = "secrets" | "keys" | "certificates";

/** One version of a secret. */
export interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** For a certificate's backing secret: the key id of the same name and version. */
  readonly kid?: string;
  /** True for a certificate's backing secret (Key Vault manages it). */
  readonly managed?: boolean;
  readonly enabled: boolean;
  readonly createdSec: number;
  readonly updatedSec: number;
}

/** One version of an RSA key (public JWK parts, base64url). */
export interface KeyVersion {
  readonly version: string;
  readonly n: string;
  readonly e: string;
  readonly keyOps: readonly string[];
  readonly privateKey: KeyObject;
  /** True for a certificate's key. */
  readonly managed?: boolean;
  readonly createdSec: number;
  readonly updatedSec: number;
}

/** One version of a certificate. */
export interface CertificateVersion {
  readonly version: string;
  /** DER of the public certificate. */
  readonly der: Buffer;
  readonly subject: string;
  /** Content type of the backing secret: PKCS#12 (base64) or PEM. */
  readonly contentType: CertificateContentType;
  readonly notBeforeSec: number;
  readonly expiresSec: number;
  readonly createdSec: number;
  readonly updatedSec: number;
}

/** The two formats Key Vault stores a certificate's private part in. */
export type CertificateContentType = "application/x-pkcs12" | "application/x-pem-file";

/** A named object with its versions, oldest first. */
export interface Versioned<T> {
  /** The name as first written (lookups are case-insensitive, like Key Vault's). */
  readonly name: string;
  readonly versions: T[];
}

/** One vault. */
export interface FakeVault {
  readonly name: string;
  readonly secrets: Map<string, Versioned<SecretVersion>>;
  readonly keys: Map<string, Versioned<KeyVersion>>;
  readonly certificates: Map<string, Versioned<CertificateVersion>>;
  readonly policies: { principal: KeyVaultPrincipal; permissions: KeyVaultPermissions }[];
}

/** Key Vault's vault name rule: 3–24 of letters, digits and single hyphens, starting with a letter. */
export const VAULT_NAME = /^(?=.{3,24}$)[a-zA-Z](-?[a-zA-Z0-9])*$/;
/** Key Vault's object name rule: 1–127 letters, digits and hyphens. */
export const OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** A version id: 32 lower-case hex digits. */
export const VERSION_ID = /^[0-9a-f]{32}$/;

/** Creates an empty vault. */
export function newVault(name: string): FakeVault {
  return { name, secrets: new Map(), keys: new Map(), certificates: new Map(), policies: [] };
}

/** Appends a version to the named object, creating it on first use. */
export function addVersion<T>(map: Map<string, Versioned<T>>, name: string, version: T): void {
  const key = name.toLowerCase();
  const existing = map.get(key);
  if (existing === undefined) map.set(key, { name, versions: [version] });
  else existing.versions.push(version);
}

/** The object and the requested version (the newest when `version` is empty), if both exist. */
export function findVersion<T extends { readonly version: string }>(
  map: ReadonlyMap<string, Versioned<T>>,
  name: string,
  version: string,
): { object: Versioned<T>; version: T } | undefined {
  const object = map.get(name.toLowerCase());
  if (object === undefined) return undefined;
  const found = version === "" ? object.versions.at(-1) : object.versions.find((v) => v.version === version.toLowerCase());
  return found === undefined ? undefined : { object, version: found };
}

/** Whether a token's identity may do `permission` on `kind` objects of the vault. */
export function isAllowed(
  vault: FakeVault,
  identity: { readonly appid?: string; readonly oid?: string },
  kind: KeyVaultObjectKind,
  permission: string,
): boolean {
  const same = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
  return vault.policies.some(
    (p) =>
      (same(p.principal.clientId, identity.appid) || same(p.principal.objectId, identity.oid)) &&
      ((p.permissions[kind] ?? []) as readonly string[]).includes(permission),
  );
}
