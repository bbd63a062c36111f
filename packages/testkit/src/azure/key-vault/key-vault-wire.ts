/**
 * Key Vault's JSON bodies as the data plane sends them and the SDKs read them (docs in
 * packages/testkit/src/azure/README.md, "Key Vault"): every bundle carries its full `id`
 * (`https://<vault host>/<kind>/<name>/<version>`), from which the SDKs derive vault URL, name and version.
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import type { CertificateVersion, KeyVersion, SecretVersion } from "./key-vault-model.js";

/** Recovery settings of a vault with soft delete (the default since 2020). */
const RECOVERY = { recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 } as const;

/** The error body every Key Vault error uses. */
export interface KeyVaultErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly innererror?: { readonly code: string } };
}

/** An error body. */
export function keyVaultError(code: string, message: string, innerCode?: string): KeyVaultErrorBody {
  return { error: { code, message, ...(innerCode !== undefined ? { innererror: { code: innerCode } } : {}) } };
}

function base64Url(bytes: Buffer): string {
  return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `https://<host>/<kind>/<name>/<version>`. */
export function objectId(vaultUrl: string, kind: string, name: string, version: string): string {
  return `${vaultUrl}/${kind}/${name}/${version}`;
}

function secretAttributes(s: SecretVersion): Record<string, unknown> {
  return { enabled: s.enabled, created: s.createdSec, updated: s.updatedSec, ...RECOVERY };
}

/** A SecretBundle (GET/PUT answers). */
export function secretBundle(vaultUrl: string, name: string, s: SecretVersion): Record<string, unknown> {
  return { ...secretItem(vaultUrl, name, s), value: s.value };
}

/** A SecretItem (list answers: no value). */
export function secretItem(vaultUrl: string, name: string, s: SecretVersion): Record<string, unknown> {
  return {
    id: objectId(vaultUrl, "secrets", name, s.version),
    attributes: secretAttributes(s),
    ...(s.contentType !== undefined ? { contentType: s.contentType } : {}),
    tags: { ...(s.tags ?? {}) },
    ...(s.kid !== undefined ? { kid: s.kid } : {}),
    ...(s.managed === true ? { managed: true } : {}),
  };
}

/** A KeyBundle with the public RSA key as a JWK. */
export function keyBundle(vaultUrl: string, name: string, k: KeyVersion): Record<string, unknown> {
  return {
    key: { kid: objectId(vaultUrl, "keys", name, k.version), kty: "RSA", key_ops: [...k.keyOps], n: k.n, e: k.e },
    attributes: { enabled: true, created: k.createdSec, updated: k.updatedSec, exportable: false, ...RECOVERY },
    tags: {},
    ...(k.managed === true ? { managed: true } : {}),
  };
}

/** A CertificateBundle: the public certificate (`cer`, base64 DER) and the ids of its key and secret. */
export function certificateBundle(vaultUrl: string, name: string, c: CertificateVersion): Record<string, unknown> {
  const policyId = `${vaultUrl}/certificates/${name}/policy`;
  return {
    id: objectId(vaultUrl, "certificates", name, c.version),
    kid: objectId(vaultUrl, "keys", name, c.version),
    sid: objectId(vaultUrl, "secrets", name, c.version),
    x5t: base64Url(createHash("sha1").update(c.der).digest()),
    cer: c.der.toString("base64"),
    attributes: { enabled: true, nbf: c.notBeforeSec, exp: c.expiresSec, created: c.createdSec, updated: c.updatedSec, ...RECOVERY },
    tags: {},
    policy: {
      id: policyId,
      key_props: { exportable: true, kty: "RSA", key_size: 2048, reuse_key: false },
      secret_props: { contentType: c.contentType },
      x509_props: { subject: c.subject, ekus: ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], key_usage: ["digitalSignature", "keyEncipherment"], validity_months: 12, basic_constraints: { ca: false } },
      lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } }],
      issuer: { name: "Self" },
      attributes: { enabled: true, created: c.createdSec, updated: c.updatedSec },
    },
  };
}

/** A page of a list answer; `nextLink` is an absolute URL or null, as Key Vault sends it. */
export function listPage(items: readonly unknown[], nextLink: string | undefined): Record<string, unknown> {
  return { value: items, nextLink: nextLink ?? null };
}
